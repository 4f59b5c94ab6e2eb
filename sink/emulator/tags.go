package emulator

import (
	"strings"
)

// Tag operations: TagResource, UntagResource, ListTagsForResource and the
// deprecated TagLogGroup, UntagLogGroup, ListTagsLogGroup
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_TagResource.html).
// Only log group ARNs are taggable here; the
// ARN must be the form without ":*" (logGroupArn).

type tagResourceInput struct {
	ResourceArn *string           `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
}

type untagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

type resourceArnInput struct {
	ResourceArn *string `json:"resourceArn"`
}

type tagLogGroupInput struct {
	LogGroupName *string           `json:"logGroupName"`
	Tags         map[string]string `json:"tags"`
}

type untagLogGroupInput struct {
	LogGroupName *string  `json:"logGroupName"`
	Tags         []string `json:"tags"`
}

type tagsOutput struct {
	Tags map[string]string `json:"tags"`
}

func (v *validation) resourceArn(arn *string) {
	if arn == nil {
		v.null("resourceArn")
		return
	}
	v.length(*arn, "resourceArn", 1, maxArnLen)
}

func (v *validation) tagKeys(keys []string, path string) {
	if keys == nil {
		v.null(path)
		return
	}
	shown := "[" + strings.Join(keys, ", ") + "]"
	if len(keys) < 1 {
		v.fail(shown, path, "Member must have length greater than or equal to 1")
	}
	if len(keys) > maxTagsPerCall {
		v.fail(shown, path, "Member must have length less than or equal to 50")
	}
}

// groupByArn resolves a log group ARN (without ":*") to its name. Other
// resources, other regions and accounts are "not found"; the ":*" form is
// rejected as invalid, as the API requires logGroupArn.
func (s *Server) groupByArn(arn string) (string, *apiError) {
	prefix := "arn:aws:logs:" + s.cfg.Region + ":" + s.cfg.AccountID + ":log-group:"
	name, ok := strings.CutPrefix(arn, prefix)
	if !ok {
		if !strings.HasPrefix(arn, "arn:") {
			return "", errInvalidParameter(msgInvalidARN)
		}
		return "", errNotFound(msgGroupNotFound)
	}
	if strings.HasSuffix(name, ":*") || name == "" {
		return "", errInvalidParameter(msgInvalidARN)
	}
	return name, nil
}

func (in *tagResourceInput) validate(v *validation) {
	v.resourceArn(in.ResourceArn)
	v.tags(in.Tags, "tags", true)
}

func (s *Server) tagResource(in *tagResourceInput) (any, *apiError) {
	name, e := s.groupByArn(*in.ResourceArn)
	if e != nil {
		return nil, e
	}
	return s.addTags(opTagResource, name, in.Tags, *in.ResourceArn)
}

func (in *tagLogGroupInput) validate(v *validation) {
	v.groupName(in.LogGroupName, "logGroupName")
	v.tags(in.Tags, "tags", true)
}

func (s *Server) tagLogGroup(in *tagLogGroupInput) (any, *apiError) {
	return s.addTags(opTagLogGroup, *in.LogGroupName, in.Tags, *in.LogGroupName)
}

// addTags adds or overwrites tags; more than 50 in total is
// TooManyTagsException with resourceName.
func (s *Server) addTags(op, group string, tags map[string]string, resource string) (any, *apiError) {
	return s.inGroup(op, group, func(g *logGroup) (any, *apiError) {
		n := len(g.tags)
		for k := range tags {
			if _, ok := g.tags[k]; !ok {
				n++
			}
		}
		if n > maxTagsPerResource {
			return nil, &apiError{status: 400, code: CodeTooManyTags, message: msgTooManyTags, resourceName: resource}
		}
		if g.tags == nil {
			g.tags = make(map[string]string, len(tags))
		}
		for k, val := range tags {
			g.tags[k] = val
		}
		s.dirty = true
		return nil, nil
	})
}

func (in *untagResourceInput) validate(v *validation) {
	v.resourceArn(in.ResourceArn)
	v.tagKeys(in.TagKeys, "tagKeys")
}

func (s *Server) untagResource(in *untagResourceInput) (any, *apiError) {
	name, e := s.groupByArn(*in.ResourceArn)
	if e != nil {
		return nil, e
	}
	return s.removeTags(opUntagResource, name, in.TagKeys)
}

func (in *untagLogGroupInput) validate(v *validation) {
	v.groupName(in.LogGroupName, "logGroupName")
	v.tagKeys(in.Tags, "tags")
}

func (s *Server) untagLogGroup(in *untagLogGroupInput) (any, *apiError) {
	return s.removeTags(opUntagLogGroup, *in.LogGroupName, in.Tags)
}

func (s *Server) removeTags(op, group string, keys []string) (any, *apiError) {
	return s.inGroup(op, group, func(g *logGroup) (any, *apiError) {
		for _, k := range keys {
			delete(g.tags, k)
		}
		s.dirty = true
		return nil, nil
	})
}

func (in *resourceArnInput) validate(v *validation) {
	v.resourceArn(in.ResourceArn)
}

func (s *Server) listTagsForResource(in *resourceArnInput) (any, *apiError) {
	name, e := s.groupByArn(*in.ResourceArn)
	if e != nil {
		return nil, e
	}
	return s.listTags(opListTagsForResource, name)
}

func (s *Server) listTagsLogGroup(in *logGroupNameInput) (any, *apiError) {
	return s.listTags(opListTagsLogGroup, *in.LogGroupName)
}

func (s *Server) listTags(op, group string) (any, *apiError) {
	return s.inGroup(op, group, func(g *logGroup) (any, *apiError) {
		out := tagsOutput{Tags: make(map[string]string, len(g.tags))}
		for k, val := range g.tags {
			out.Tags[k] = val
		}
		return out, nil
	})
}
