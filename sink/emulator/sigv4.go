package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sigv4Algorithm is the only signing algorithm CloudWatch Logs accepts here.
const sigv4Algorithm = "AWS4-HMAC-SHA256"

// signingService is the SigV4 signing name of CloudWatch Logs (the service
// model's signingName; aws-sdk-go-v2 service/cloudwatchlogs/auth.go).
const signingService = "logs"

// maxClockSkew is how far X-Amz-Date may be from the server clock when
// signatures are verified strictly (AWS allows 15 minutes).
const maxClockSkew = 15 * time.Minute

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// authenticate checks the SigV4 Authorization header (design.md, "Wire
// protocol"). Without configured keys it only requires a well-formed header scoped
// to service "logs" and the server's region; with keys it recomputes the
// signature. All authentication errors are HTTP 400, as AWS's JSON-protocol
// services answer them.
func (s *Server) authenticate(r *http.Request, body []byte) *apiError {
	h := r.Header.Get("Authorization")
	if h == "" {
		if s.cfg.AllowUnsigned {
			return nil
		}
		return errClient(CodeMissingAuthentication, msgMissingAuth)
	}
	a, aerr := parseAuthorization(h, r.Header.Get("X-Amz-Date") != "" || r.Header.Get("Date") != "")
	if aerr != nil {
		return aerr
	}
	if a.service != signingService {
		return errClient(CodeInvalidSignature, "Credential should be scoped to correct service: '"+signingService+"'. ")
	}
	if a.region != s.cfg.Region {
		return errClient(CodeInvalidSignature, "Credential should be scoped to a valid region. ")
	}
	if s.cfg.AccessKeyID == "" {
		return nil
	}
	if a.accessKey != s.cfg.AccessKeyID {
		return errClient(CodeUnrecognizedClient, msgBadToken)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return errClient(CodeIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '"+amzDate+"'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	if now := s.now().UTC(); t.Before(now.Add(-maxClockSkew)) || t.After(now.Add(maxClockSkew)) {
		return errClient(CodeInvalidSignature, "Signature expired: "+amzDate+" is now earlier than "+
			now.Add(-maxClockSkew).Format("20060102T150405Z")+" ("+now.Format("20060102T150405Z")+" - 15 min.)")
	}
	if a.date != amzDate[:8] {
		return errClient(CodeInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+a.date+"' != '"+amzDate[:8]+"', from '"+amzDate+"'.")
	}
	want := signature(s.cfg.SecretAccessKey, a, amzDate, canonicalRequest(r, a.signedHeaders, body))
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return errClient(CodeInvalidSignature, msgBadSignature)
	}
	return nil
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/20260101/
// us-east-1/logs/aws4_request, SignedHeaders=a;b, Signature=hex". Missing
// parts give IncompleteSignatureException with AWS's wording.
func parseAuthorization(h string, hasDate bool) (authorization, *apiError) {
	var a authorization
	rest, ok := strings.CutPrefix(h, sigv4Algorithm+" ")
	if !ok {
		return a, errClient(CodeIncompleteSignature, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization="+h)
	}
	var cred, signed string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			a.signature = v
		}
	}
	var missing []string
	if cred == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if a.signature == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if signed == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if !hasDate {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return a, errClient(CodeIncompleteSignature, strings.Join(missing, " ")+" Authorization="+h)
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" {
		return a, errClient(CodeIncompleteSignature, "Credential should have the format 'access-key-id/date/region/service/aws4_request'. Credential="+cred)
	}
	a.accessKey, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	a.signedHeaders = strings.Split(signed, ";")
	return a, nil
}

// canonicalRequest builds the SigV4 canonical request for r.
func canonicalRequest(r *http.Request, signedHeaders []string, body []byte) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query()))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	if ph := r.Header.Get("X-Amz-Content-Sha256"); ph != "" {
		b.WriteString(ph)
	} else {
		sum := sha256.Sum256(body)
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()
}

func canonicalHeaderValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if v := r.Header.Get("Content-Length"); v != "" {
			return v
		}
		return strconv.FormatInt(r.ContentLength, 10)
	}
	vals := r.Header.Values(name)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(q))
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// awsEscape percent-encodes everything but the RFC 3986 unreserved set.
func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// signature computes the hex SigV4 signature of a canonical request.
func signature(secret string, a authorization, amzDate, canonical string) string {
	scope := a.date + "/" + a.region + "/" + a.service + "/aws4_request"
	sum := sha256.Sum256([]byte(canonical))
	toSign := sigv4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+secret), a.date)
	k = hmacSHA256(k, a.region)
	k = hmacSHA256(k, a.service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
