package emulator

import (
	"maps"
	"strconv"
	"strings"
)

// Log group operations: CreateLogGroup, DeleteLogGroup, DescribeLogGroups,
// PutRetentionPolicy, DeleteRetentionPolicy (API_<Operation>.html in
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/).

type createLogGroupInput struct {
	LogGroupName              *string           `json:"logGroupName"`
	KmsKeyID                  *string           `json:"kmsKeyId"`
	Tags                      map[string]string `json:"tags"`
	LogGroupClass             *string           `json:"logGroupClass"`
	DeletionProtectionEnabled *bool             `json:"deletionProtectionEnabled"`
}

func (in *createLogGroupInput) validate(v *validation) {
	v.groupName(in.LogGroupName, "logGroupName")
	if in.KmsKeyID != nil {
		v.maxLen(*in.KmsKeyID, "kmsKeyId", maxKmsKeyLen)
	}
	v.tags(in.Tags, "tags", false)
	if in.LogGroupClass != nil {
		v.enum(*in.LogGroupClass, "logGroupClass", logGroupClasses)
	}
}

func (s *Server) createLogGroup(in *createLogGroupInput) (any, *apiError) {
	name := *in.LogGroupName
	if strings.HasPrefix(name, "aws/") {
		return nil, errInvalidParameter(msgReservedPrefix)
	}
	if e := s.faults.inject(opCreateLogGroup); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.groups[name]; ok {
		return nil, errExists(msgGroupExists)
	}
	g := &logGroup{
		name:         name,
		creationTime: s.nowMs(),
		class:        "STANDARD",
		tags:         maps.Clone(in.Tags),
		streams:      make(map[string]*logStream),
		filters:      make(map[string]*subscriptionFilter),
	}
	if in.LogGroupClass != nil {
		g.class = *in.LogGroupClass
	}
	if in.KmsKeyID != nil {
		g.kmsKeyID = *in.KmsKeyID
	}
	if in.DeletionProtectionEnabled != nil {
		g.protection = *in.DeletionProtectionEnabled
	}
	s.st.groups[name] = g
	s.dirty = true
	return nil, nil
}

type logGroupNameInput struct {
	LogGroupName *string `json:"logGroupName"`
}

func (in *logGroupNameInput) validate(v *validation) {
	v.groupName(in.LogGroupName, "logGroupName")
}

func (s *Server) deleteLogGroup(in *logGroupNameInput) (any, *apiError) {
	return s.inGroup(opDeleteLogGroup, *in.LogGroupName, func(g *logGroup) (any, *apiError) {
		if g.protection {
			return nil, errClient(CodeInvalidOperation, "Log group "+g.name+" has deletion protection enabled.")
		}
		delete(s.st.groups, g.name)
		s.dirty = true
		return nil, nil
	})
}

type describeLogGroupsInput struct {
	LogGroupNamePrefix  *string  `json:"logGroupNamePrefix"`
	LogGroupNamePattern *string  `json:"logGroupNamePattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int32   `json:"limit"`
	LogGroupClass       *string  `json:"logGroupClass"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
}

type logGroupOut struct {
	LogGroupName              string `json:"logGroupName"`
	CreationTime              int64  `json:"creationTime"`
	RetentionInDays           *int32 `json:"retentionInDays,omitempty"`
	MetricFilterCount         int32  `json:"metricFilterCount"`
	Arn                       string `json:"arn"`
	StoredBytes               int64  `json:"storedBytes"`
	KmsKeyID                  string `json:"kmsKeyId,omitempty"`
	LogGroupClass             string `json:"logGroupClass"`
	LogGroupArn               string `json:"logGroupArn"`
	DeletionProtectionEnabled bool   `json:"deletionProtectionEnabled"`
}

type describeLogGroupsOutput struct {
	LogGroups []logGroupOut `json:"logGroups"`
	NextToken string        `json:"nextToken,omitempty"`
}

func (in *describeLogGroupsInput) validate(v *validation) {
	v.optNamePrefix(in.LogGroupNamePrefix, "logGroupNamePrefix", groupNamePattern, validGroupChars)
	if in.LogGroupNamePattern != nil {
		v.maxLen(*in.LogGroupNamePattern, "logGroupNamePattern", maxNameLen)
	}
	v.nextToken(in.NextToken)
	v.limit(in.Limit, "limit", maxDescribeLimit)
	if in.LogGroupClass != nil {
		v.enum(*in.LogGroupClass, "logGroupClass", logGroupClasses)
	}
	if in.LogGroupIdentifiers != nil && (len(in.LogGroupIdentifiers) < 1 || len(in.LogGroupIdentifiers) > 50) {
		v.fail("["+strings.Join(in.LogGroupIdentifiers, ", ")+"]", "logGroupIdentifiers", "Member must have length between 1 and 50")
	}
}

func (s *Server) describeLogGroups(in *describeLogGroupsInput) (any, *apiError) {
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, errInvalidParameter(msgPrefixXorPat)
	}
	after, e := decodeToken('g', in.NextToken)
	if e != nil {
		return nil, e
	}
	if e := s.faults.inject(opDescribeLogGroups); e != nil {
		return nil, e
	}
	limit := maxDescribeLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	var ids map[string]bool
	if in.LogGroupIdentifiers != nil {
		ids = make(map[string]bool)
		for _, id := range in.LogGroupIdentifiers {
			ids[groupNameFromIdentifier(id)] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := describeLogGroupsOutput{LogGroups: []logGroupOut{}}
	for _, name := range sortedGroupNames(s.st) {
		if in.NextToken != nil && name <= after {
			continue
		}
		if in.LogGroupNamePrefix != nil && !strings.HasPrefix(name, *in.LogGroupNamePrefix) {
			continue
		}
		if in.LogGroupNamePattern != nil && !strings.Contains(name, *in.LogGroupNamePattern) {
			continue
		}
		if ids != nil && !ids[name] {
			continue
		}
		g := s.st.groups[name]
		if in.LogGroupClass != nil && g.class != *in.LogGroupClass {
			continue
		}
		if len(out.LogGroups) == limit {
			out.NextToken = encodeToken('g', out.LogGroups[limit-1].LogGroupName)
			break
		}
		out.LogGroups = append(out.LogGroups, s.groupOut(g))
	}
	return out, nil
}

func (s *Server) groupOut(g *logGroup) logGroupOut {
	o := logGroupOut{
		LogGroupName:              g.name,
		CreationTime:              g.creationTime,
		Arn:                       g.arn(s.cfg.Region, s.cfg.AccountID),
		StoredBytes:               g.storedBytes,
		KmsKeyID:                  g.kmsKeyID,
		LogGroupClass:             g.class,
		LogGroupArn:               g.bareArn(s.cfg.Region, s.cfg.AccountID),
		DeletionProtectionEnabled: g.protection,
	}
	if g.retentionDays > 0 {
		r := g.retentionDays
		o.RetentionInDays = &r
	}
	return o
}

// groupNameFromIdentifier accepts a log group name or ARN (with or without
// the trailing ":*") and returns the name.
func groupNameFromIdentifier(id string) string {
	rest, ok := strings.CutPrefix(id, "arn:")
	if !ok {
		return id
	}
	_, after, ok := strings.Cut(rest, ":log-group:")
	if !ok {
		return id
	}
	return strings.TrimSuffix(after, ":*")
}

type putRetentionPolicyInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int32  `json:"retentionInDays"`
}

func (in *putRetentionPolicyInput) validate(v *validation) {
	v.groupName(in.LogGroupName, "logGroupName")
	if in.RetentionInDays == nil {
		v.null("retentionInDays")
	} else {
		v.enum(strconv.Itoa(int(*in.RetentionInDays)), "retentionInDays", retentionDays)
	}
}

func (s *Server) putRetentionPolicy(in *putRetentionPolicyInput) (any, *apiError) {
	return s.inGroup(opPutRetentionPolicy, *in.LogGroupName, func(g *logGroup) (any, *apiError) {
		g.retentionDays = *in.RetentionInDays
		s.dirty = true
		return nil, nil
	})
}

func (s *Server) deleteRetentionPolicy(in *logGroupNameInput) (any, *apiError) {
	return s.inGroup(opDeleteRetentionPolicy, *in.LogGroupName, func(g *logGroup) (any, *apiError) {
		g.retentionDays = 0
		s.dirty = true
		return nil, nil
	})
}
