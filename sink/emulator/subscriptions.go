package emulator

import (
	"sort"
	"strings"
)

// Subscription filter operations: PutSubscriptionFilter,
// DescribeSubscriptionFilters, DeleteSubscriptionFilter
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html;
// design.md, "Subscriptions"). Delivery is in delivery.go.

// maxFiltersPerGroup is AWS's hard limit of subscription filters per log
// group (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html).
const maxFiltersPerGroup = 2

// distributions are the values of PutSubscriptionFilter's distribution.
var distributions = []string{"Random", "ByLogStream"}

type putSubscriptionFilterInput struct {
	LogGroupName           *string  `json:"logGroupName"`
	FilterName             *string  `json:"filterName"`
	FilterPattern          *string  `json:"filterPattern"`
	DestinationArn         *string  `json:"destinationArn"`
	RoleArn                *string  `json:"roleArn"`
	Distribution           *string  `json:"distribution"`
	ApplyOnTransformedLogs *bool    `json:"applyOnTransformedLogs"`
	FieldSelectionCriteria *string  `json:"fieldSelectionCriteria"`
	EmitSystemFields       []string `json:"emitSystemFields"`
}

func (v *validation) filterName(name *string, path string) {
	v.name(name, path, filterNamePattern, validStreamChars)
}

func (in *putSubscriptionFilterInput) validate(v *validation) {
	v.groupName(in.LogGroupName, "logGroupName")
	v.filterName(in.FilterName, "filterName")
	if in.FilterPattern == nil {
		v.null("filterPattern")
	} else {
		v.maxLen(*in.FilterPattern, "filterPattern", maxFilterPatternLen)
	}
	if in.DestinationArn == nil {
		v.null("destinationArn")
	} else {
		v.minLen(*in.DestinationArn, "destinationArn", 1)
	}
	if in.RoleArn != nil {
		v.minLen(*in.RoleArn, "roleArn", 1)
	}
	if in.Distribution != nil {
		v.enum(*in.Distribution, "distribution", distributions)
	}
	if in.FieldSelectionCriteria != nil {
		v.maxLen(*in.FieldSelectionCriteria, "fieldSelectionCriteria", 2000)
	}
}

func (s *Server) putSubscriptionFilter(in *putSubscriptionFilterInput) (any, *apiError) {
	m, ok := parseFilterPattern(*in.FilterPattern)
	if !ok {
		return nil, errInvalidParameter(msgUnsupportedPatn)
	}
	if e := s.faults.inject(opPutSubscriptionFilter); e != nil {
		return nil, e
	}
	f := &subscriptionFilter{
		name:           *in.FilterName,
		pattern:        *in.FilterPattern,
		destinationArn: *in.DestinationArn,
		distribution:   "ByLogStream",
		creationTime:   s.nowMs(),
		emitFields:     in.EmitSystemFields,
		matcher:        m,
	}
	if in.RoleArn != nil {
		f.roleArn = *in.RoleArn
	}
	if in.Distribution != nil {
		f.distribution = *in.Distribution
	}
	if in.ApplyOnTransformedLogs != nil {
		f.applyOnTrans = *in.ApplyOnTransformedLogs
	}
	if in.FieldSelectionCriteria != nil {
		f.fieldSelection = *in.FieldSelectionCriteria
	}

	s.mu.Lock()
	g, ok := s.st.groups[*in.LogGroupName]
	if !ok {
		s.mu.Unlock()
		return nil, errNotFound(msgGroupNotFound)
	}
	old, exists := g.filters[f.name]
	if !exists && len(g.filters) >= maxFiltersPerGroup {
		s.mu.Unlock()
		return nil, errClient(CodeLimitExceeded, msgLimitExceeded)
	}
	if exists {
		f.creationTime = old.creationTime
	}
	g.filters[f.name] = f
	s.dirty = true
	s.mu.Unlock()
	if !exists {
		s.sendControlMessage(f.destinationArn)
	}
	return nil, nil
}

type describeSubscriptionFiltersInput struct {
	LogGroupName     *string `json:"logGroupName"`
	FilterNamePrefix *string `json:"filterNamePrefix"`
	NextToken        *string `json:"nextToken"`
	Limit            *int32  `json:"limit"`
}

type subscriptionFilterOut struct {
	FilterName             string   `json:"filterName"`
	LogGroupName           string   `json:"logGroupName"`
	FilterPattern          string   `json:"filterPattern"`
	DestinationArn         string   `json:"destinationArn"`
	RoleArn                string   `json:"roleArn,omitempty"`
	Distribution           string   `json:"distribution"`
	ApplyOnTransformedLogs bool     `json:"applyOnTransformedLogs"`
	CreationTime           int64    `json:"creationTime"`
	FieldSelectionCriteria string   `json:"fieldSelectionCriteria,omitempty"`
	EmitSystemFields       []string `json:"emitSystemFields,omitempty"`
}

type describeSubscriptionFiltersOutput struct {
	SubscriptionFilters []subscriptionFilterOut `json:"subscriptionFilters"`
	NextToken           string                  `json:"nextToken,omitempty"`
}

func (in *describeSubscriptionFiltersInput) validate(v *validation) {
	v.groupName(in.LogGroupName, "logGroupName")
	if in.FilterNamePrefix != nil {
		v.filterName(in.FilterNamePrefix, "filterNamePrefix")
	}
	v.nextToken(in.NextToken)
	v.limit(in.Limit, "limit", maxDescribeLimit)
}

func (s *Server) describeSubscriptionFilters(in *describeSubscriptionFiltersInput) (any, *apiError) {
	after, e := decodeToken('f', in.NextToken)
	if e != nil {
		return nil, e
	}
	limit := maxDescribeLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	return s.inGroup(opDescribeSubscriptionFilters, *in.LogGroupName, func(g *logGroup) (any, *apiError) {
		out := describeSubscriptionFiltersOutput{SubscriptionFilters: []subscriptionFilterOut{}}
		for _, f := range g.sortedFilters() {
			if in.NextToken != nil && f.name <= after {
				continue
			}
			if in.FilterNamePrefix != nil && !strings.HasPrefix(f.name, *in.FilterNamePrefix) {
				continue
			}
			if len(out.SubscriptionFilters) == limit {
				out.NextToken = encodeToken('f', out.SubscriptionFilters[limit-1].FilterName)
				break
			}
			out.SubscriptionFilters = append(out.SubscriptionFilters, subscriptionFilterOut{
				FilterName:             f.name,
				LogGroupName:           g.name,
				FilterPattern:          f.pattern,
				DestinationArn:         f.destinationArn,
				RoleArn:                f.roleArn,
				Distribution:           f.distribution,
				ApplyOnTransformedLogs: f.applyOnTrans,
				CreationTime:           f.creationTime,
				FieldSelectionCriteria: f.fieldSelection,
				EmitSystemFields:       f.emitFields,
			})
		}
		return out, nil
	})
}

type deleteSubscriptionFilterInput struct {
	LogGroupName *string `json:"logGroupName"`
	FilterName   *string `json:"filterName"`
}

func (in *deleteSubscriptionFilterInput) validate(v *validation) {
	v.groupName(in.LogGroupName, "logGroupName")
	v.filterName(in.FilterName, "filterName")
}

func (s *Server) deleteSubscriptionFilter(in *deleteSubscriptionFilterInput) (any, *apiError) {
	return s.inGroup(opDeleteSubscriptionFilter, *in.LogGroupName, func(g *logGroup) (any, *apiError) {
		if _, ok := g.filters[*in.FilterName]; !ok {
			return nil, errNotFound(msgFilterNotFound)
		}
		delete(g.filters, *in.FilterName)
		s.dirty = true
		return nil, nil
	})
}

func (g *logGroup) sortedFilters() []*subscriptionFilter {
	fs := make([]*subscriptionFilter, 0, len(g.filters))
	for _, f := range g.filters {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
	return fs
}
