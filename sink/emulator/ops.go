package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Operation names (the part of X-Amz-Target after the prefix).
const (
	opCreateLogGroup              = "CreateLogGroup"
	opDeleteLogGroup              = "DeleteLogGroup"
	opCreateLogStream             = "CreateLogStream"
	opDeleteLogStream             = "DeleteLogStream"
	opDescribeLogGroups           = "DescribeLogGroups"
	opDescribeLogStreams          = "DescribeLogStreams"
	opPutLogEvents                = "PutLogEvents"
	opPutRetentionPolicy          = "PutRetentionPolicy"
	opDeleteRetentionPolicy       = "DeleteRetentionPolicy"
	opTagResource                 = "TagResource"
	opUntagResource               = "UntagResource"
	opListTagsForResource         = "ListTagsForResource"
	opTagLogGroup                 = "TagLogGroup"
	opUntagLogGroup               = "UntagLogGroup"
	opListTagsLogGroup            = "ListTagsLogGroup"
	opPutSubscriptionFilter       = "PutSubscriptionFilter"
	opDescribeSubscriptionFilters = "DescribeSubscriptionFilters"
	opDeleteSubscriptionFilter    = "DeleteSubscriptionFilter"
	opGetLogEvents                = "GetLogEvents"
	opFilterLogEvents             = "FilterLogEvents"
	opUnknown                     = "Unknown"
)

// handler runs one operation on a request body and returns the response
// shape (nil for "HTTP 200 with an empty body") or an API error.
type handler func(s *Server, body []byte) (any, *apiError)

// operation is one row of the operation table.
type operation struct {
	// name is the operation name in X-Amz-Target and in Stats.Requests.
	name string
	// serve answers the request body.
	serve handler
	// quota is AWS's default account-wide request-rate quota in requests per
	// second (DefaultQuotas); zero means none is enforced.
	quota float64
}

// operations is the one list of the operations the emulator implements:
// ServeHTTP routes by it, Stats counts by it and DefaultQuotas is read from
// it. Every handler but PutLogEvents (which has its own decoder, putdecode.go)
// goes through the shared prologue of endpoint. The quotas are AWS's defaults
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html;
// design.md, "Quotas and faults"); CreateLogGroup's is the 2022 value.
var operations = [...]operation{
	{name: opCreateLogGroup, serve: endpoint((*Server).createLogGroup), quota: 5},
	{name: opDeleteLogGroup, serve: endpoint((*Server).deleteLogGroup)},
	{name: opCreateLogStream, serve: endpoint((*Server).createLogStream), quota: 50},
	{name: opDeleteLogStream, serve: endpoint((*Server).deleteLogStream)},
	{name: opDescribeLogGroups, serve: endpoint((*Server).describeLogGroups), quota: 10},
	{name: opDescribeLogStreams, serve: endpoint((*Server).describeLogStreams), quota: 25},
	{name: opPutLogEvents, serve: (*Server).putLogEvents, quota: 5000},
	{name: opPutRetentionPolicy, serve: endpoint((*Server).putRetentionPolicy)},
	{name: opDeleteRetentionPolicy, serve: endpoint((*Server).deleteRetentionPolicy)},
	{name: opTagResource, serve: endpoint((*Server).tagResource)},
	{name: opUntagResource, serve: endpoint((*Server).untagResource)},
	{name: opListTagsForResource, serve: endpoint((*Server).listTagsForResource)},
	{name: opTagLogGroup, serve: endpoint((*Server).tagLogGroup)},
	{name: opUntagLogGroup, serve: endpoint((*Server).untagLogGroup)},
	{name: opListTagsLogGroup, serve: endpoint((*Server).listTagsLogGroup)},
	{name: opPutSubscriptionFilter, serve: endpoint((*Server).putSubscriptionFilter)},
	{name: opDescribeSubscriptionFilters, serve: endpoint((*Server).describeSubscriptionFilters)},
	{name: opDeleteSubscriptionFilter, serve: endpoint((*Server).deleteSubscriptionFilter)},
	{name: opGetLogEvents, serve: endpoint((*Server).getLogEvents), quota: 10},
	{name: opFilterLogEvents, serve: endpoint((*Server).filterLogEvents), quota: 5},
}

// operationByName indexes operations for routing.
var operationByName = func() map[string]*operation {
	m := make(map[string]*operation, len(operations))
	for i := range operations {
		m[operations[i].name] = &operations[i]
	}
	return m
}()

// input is a request shape that checks its own member constraints (the
// service model's required, length, pattern, range and enum rules), adding
// each failure to v in the order AWS reports them.
type input interface {
	validate(v *validation)
}

// endpoint is the prologue every JSON operation shares: decode the body into
// a fresh In (decode's SerializationException on failure), check its member
// constraints and answer all failures as one InvalidParameterException, and
// only then run the operation on the valid input.
func endpoint[In any, P interface {
	*In
	input
}](run func(s *Server, in P) (any, *apiError)) handler {
	return func(s *Server, body []byte) (any, *apiError) {
		in := P(new(In))
		if e := decode(body, in); e != nil {
			return nil, e
		}
		var v validation
		in.validate(&v)
		if e := v.err(); e != nil {
			return nil, e
		}
		return run(s, in)
	}
}

// decode unmarshals an awsJson request body into v. An empty body is treated
// as {}; unknown members are ignored, as AWS does; a malformed body or a
// member of the wrong type is a SerializationException.
func decode(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errClient(CodeSerialization, "Unexpected value for member '"+te.Field+"': expected "+te.Type.String()+".")
		}
		return errClient(CodeSerialization, "Malformed request body: "+err.Error())
	}
	return nil
}

// inGroup is the rest of the prologue of an operation on one existing log
// group: inject faults for op (after validation, before any effect; see
// Faults), then run fn on the group with s.mu held, or answer
// ResourceNotFoundException when there is no such group.
func (s *Server) inGroup(op, name string, fn func(g *logGroup) (any, *apiError)) (any, *apiError) {
	if e := s.faults.inject(op); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.groups[name]
	if !ok {
		return nil, errNotFound(msgGroupNotFound)
	}
	return fn(g)
}
