package emulator_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"logship/internal/testclock"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// Wire-level tests: what the SDK hides (headers, authentication, unknown
// targets, the error document).

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// rawCall POSTs body with X-Amz-Target Logs_20140328.<op>, signed with the
// env's keys for service "logs" unless mutate removes or replaces the
// signature. mutate runs after signing.
func rawCall(t *testing.T, env *emulatortest.Env, op, body string, sign bool, mutate func(*http.Request)) rawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if op != "" {
		req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
	}
	if sign {
		signRequest(t, req, []byte(body), env.AccessKeyID, env.SecretAccessKey, "logs", env.Region)
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{resp.StatusCode, resp.Header, b}
}

func signRequest(t *testing.T, req *http.Request, body []byte, ak, sk, service, region string) {
	t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk},
		req, hex.EncodeToString(sum[:]), service, region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
}

// wantAWSError checks status, X-Amzn-ErrorType, the request id and that the
// body is exactly {"__type": code, "message": msg} ("" msg: any message).
func wantAWSError(t *testing.T, r rawResponse, status int, code, msg string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if got := r.header.Get("X-Amzn-ErrorType"); got != code {
		t.Errorf("X-Amzn-ErrorType %q, want %q", got, code)
	}
	if got := r.header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type %q, want application/x-amz-json-1.1", got)
	}
	if id := r.header.Get("x-amzn-RequestId"); !uuidRE.MatchString(id) {
		t.Errorf("x-amzn-RequestId %q, want a UUID", id)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !eqStrings(keys, []string{"__type", "message"}) {
		t.Errorf("error body keys %q, want [__type message]", keys)
	}
	if doc["__type"] != code {
		t.Errorf("__type %v, want %q", doc["__type"], code)
	}
	if m, _ := doc["message"].(string); msg != "" && m != msg {
		t.Errorf("message\n got %q\nwant %q", m, msg)
	}
}

func TestWire_SuccessHeaders(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	r := rawCall(t, env, "CreateLogGroup", `{"logGroupName":"g"}`, true, nil)
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("CreateLogGroup: status %d body %q, want 200 and an empty body", r.status, r.body)
	}
	if got := r.header.Get("Content-Length"); got != "0" {
		t.Errorf("Content-Length %q, want 0", got)
	}
	first := r.header.Get("x-amzn-RequestId")
	if !uuidRE.MatchString(first) {
		t.Errorf("x-amzn-RequestId %q, want a UUID", first)
	}
	if got := r.header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type %q, want application/x-amz-json-1.1", got)
	}
	rawCall(t, env, "CreateLogStream", `{"logGroupName":"g","logStreamName":"s"}`, true, nil)
	now := time.Now().UnixMilli()
	r = rawCall(t, env, "PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":`+itoa(now)+`,"message":"hi"}]}`, true, nil)
	if r.status != 200 {
		t.Fatalf("PutLogEvents: status %d body %s", r.status, r.body)
	}
	if id := r.header.Get("x-amzn-RequestId"); !uuidRE.MatchString(id) || id == first {
		t.Errorf("PutLogEvents x-amzn-RequestId %q, want a fresh UUID", id)
	}
	var out map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	if tok, _ := out["nextSequenceToken"].(string); len(tok) != 56 {
		t.Errorf("body %s: want a 56-digit nextSequenceToken", r.body)
	}
	if _, ok := out["rejectedLogEventsInfo"]; ok {
		t.Errorf("body %s: rejectedLogEventsInfo present, want absent", r.body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestWire_Errors(t *testing.T) {
	tests := []struct {
		name   string
		cfg    emulator.Config
		op     string
		body   string
		sign   bool
		mutate func(*http.Request)
		status int
		code   string
		msg    string
	}{
		{name: "already_exists_error_document", op: "CreateLogGroup", body: `{"logGroupName":"g"}`, sign: true,
			status: 400, code: "ResourceAlreadyExistsException", msg: "The specified log group already exists"},
		{name: "missing_authorization", op: "CreateLogGroup", body: `{"logGroupName":"x"}`,
			status: 400, code: "MissingAuthenticationTokenException", msg: "Request is missing Authentication Token"},
		{name: "malformed_authorization", op: "CreateLogGroup", body: `{"logGroupName":"x"}`,
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") },
			status: 400, code: "IncompleteSignatureException"},
		{name: "authorization_without_signature", op: "CreateLogGroup", body: `{"logGroupName":"x"}`,
			mutate: func(r *http.Request) {
				r.Header.Set("X-Amz-Date", "20260101T000000Z")
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/logs/aws4_request, SignedHeaders=host")
			},
			status: 400, code: "IncompleteSignatureException",
			msg: "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/logs/aws4_request, SignedHeaders=host"},
		{name: "signed_for_other_service", op: "CreateLogGroup", body: `{"logGroupName":"x"}`,
			mutate: func(r *http.Request) {
				r.Header.Del("Authorization")
				signRequest(t, r, []byte(`{"logGroupName":"x"}`), "AK", "SK", "s3", "us-east-1")
			},
			status: 400, code: "InvalidSignatureException", msg: "Credential should be scoped to correct service: 'logs'. "},
		{name: "signed_for_other_region", op: "CreateLogGroup", body: `{"logGroupName":"x"}`,
			mutate: func(r *http.Request) {
				r.Header.Del("Authorization")
				signRequest(t, r, []byte(`{"logGroupName":"x"}`), "AK", "SK", "logs", "eu-west-1")
			},
			status: 400, code: "InvalidSignatureException", msg: "Credential should be scoped to a valid region. "},
		{name: "unknown_operation", op: "NoSuchOperation", body: `{}`, sign: true,
			status: 400, code: "UnknownOperationException", msg: "The action or operation requested is invalid. Verify that the action is typed correctly."},
		{name: "missing_target", op: "", body: `{}`, sign: true,
			status: 400, code: "UnknownOperationException"},
		{name: "other_service_target", op: "", body: `{}`, sign: true,
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem") },
			status: 400, code: "UnknownOperationException"},
		{name: "malformed_json", op: "CreateLogGroup", body: `{"logGroupName":`, sign: true,
			status: 400, code: "SerializationException"},
		{name: "wrong_member_type", op: "CreateLogGroup", body: `{"logGroupName":5}`, sign: true,
			status: 400, code: "SerializationException"},
		{name: "null_message_member", op: "PutLogEvents", body: `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1}]}`, sign: true,
			status: 400, code: "InvalidParameterException",
			msg: "1 validation error detected: Value null at 'logEvents.1.member.message' failed to satisfy constraint: Member must not be null"},
		{name: "missing_required_members", op: "CreateLogStream", body: `{}`, sign: true,
			status: 400, code: "InvalidParameterException",
			msg: "2 validation errors detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null; Value null at 'logStreamName' failed to satisfy constraint: Member must not be null"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := emulatortest.Start(t, tc.cfg)
			env.CreateStream(t, "g", "s")
			r := rawCall(t, env, tc.op, tc.body, tc.sign, tc.mutate)
			wantAWSError(t, r, tc.status, tc.code, tc.msg)
		})
	}
}

func TestWire_GetIsUnknownOperation(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	resp, err := http.Get(env.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantAWSError(t, rawResponse{resp.StatusCode, resp.Header, b}, 400, "UnknownOperationException", "")
}

func TestWire_AllowUnsigned(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{AllowUnsigned: true})
	if r := rawCall(t, env, "CreateLogGroup", `{"logGroupName":"g"}`, false, nil); r.status != 200 {
		t.Fatalf("unsigned CreateLogGroup with AllowUnsigned: status %d body %s, want 200", r.status, r.body)
	}
}

func TestWire_UnknownMembersIgnored(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	r := rawCall(t, env, "CreateLogGroup", `{"logGroupName":"g","somethingNew":{"a":[1,2]}}`, true, nil)
	if r.status != 200 {
		t.Fatalf("status %d body %s, want 200", r.status, r.body)
	}
}

func TestWire_InvalidUTF8Replaced(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	env.CreateStream(t, "g", "s")
	now := time.Now().UnixMilli()
	body := []byte(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":` + itoa(now) + `,"message":"a` + "\xff" + `b\ud800c"}]}`)
	r := rawCall(t, env, "PutLogEvents", string(body), true, nil)
	if r.status != 200 {
		t.Fatalf("status %d body %s, want 200", r.status, r.body)
	}
	got := env.Messages("g", "s")
	if want := "a\uFFFDb\uFFFDc"; len(got) != 1 || got[0] != want {
		t.Fatalf("stored %q, want [%q]", got, want)
	}
	// Sizes are the bytes of the decoded message: 3 ASCII + 2 × U+FFFD (3 bytes).
	if st := env.Server.Stats(); st.BytesAccepted != 9 {
		t.Errorf("BytesAccepted %d, want 9", st.BytesAccepted)
	}
}

func TestWire_BaseEndpointPath(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	c := emulatortest.NewClient(env.URL+"/some/prefix", env.Region, env.AccessKeyID, env.SecretAccessKey)
	if _, err := c.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatalf("CreateLogGroup via a BaseEndpoint with a path: %v", err)
	}
}

func TestWire_StrictSignature(t *testing.T) {
	cfg := emulator.Config{AccessKeyID: "AKIDSTRICT", SecretAccessKey: "strict-secret"}
	env := emulatortest.Start(t, cfg)
	ctx := context.Background()
	tests := []struct {
		name   string
		client *cloudwatchlogs.Client
		want   check
	}{
		{"right_keys", env.Client, wantOK},
		{"unknown_access_key", emulatortest.NewClient(env.URL, env.Region, "AKIDOTHER", "strict-secret"),
			wantErr[unrecognized]("The security token included in the request is invalid.")},
		{"wrong_secret", emulatortest.NewClient(env.URL, env.Region, "AKIDSTRICT", "wrong"),
			wantCode("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g" + itoa(int64(i)))})
			if msg := tc.want(err); msg != "" {
				t.Error(msg)
			}
		})
	}
	t.Run("tampered_body", func(t *testing.T) {
		r := rawCall(t, env, "CreateLogGroup", `{"logGroupName":"a"}`, true, func(r *http.Request) {
			r.Body = io.NopCloser(bytes.NewReader([]byte(`{"logGroupName":"b"}`)))
		})
		wantAWSError(t, r, 400, "InvalidSignatureException", "")
	})
}

func TestWire_StrictSignatureExpired(t *testing.T) {
	clk := testclock.New(time.Now().Add(time.Hour))
	env := emulatortest.Start(t, emulator.Config{AccessKeyID: "AK", SecretAccessKey: "SK", Now: clk.Now})
	_, err := env.Client.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")})
	var msg string
	if m := wantCode("InvalidSignatureException", "")(err); m != "" {
		t.Fatal(m)
	}
	msg = err.Error()
	if !strings.Contains(msg, "Signature expired") {
		t.Errorf("error %q, want Signature expired", msg)
	}
}

func TestWire_ChunkedBodyAndSizeLimit(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{AllowUnsigned: true, MaxRequestBytes: 64})
	post := func(body string, chunked bool) rawResponse {
		t.Helper()
		var rd io.Reader = strings.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd) // hides the length: Transfer-Encoding: chunked
		}
		req, err := http.NewRequest(http.MethodPost, env.URL+"/", rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return rawResponse{resp.StatusCode, resp.Header, b}
	}
	if r := post(`{"logGroupName":"chunked"}`, true); r.status != 200 {
		t.Errorf("chunked CreateLogGroup: status %d body %s, want 200", r.status, r.body)
	}
	big := `{"logGroupName":"` + strings.Repeat("a", 100) + `"}`
	for _, chunked := range []bool{false, true} {
		r := post(big, chunked)
		if r.status != http.StatusRequestEntityTooLarge || r.header.Get("X-Amzn-ErrorType") != "SerializationException" {
			t.Errorf("chunked=%v oversized body: status %d type %q, want 413 SerializationException", chunked, r.status, r.header.Get("X-Amzn-ErrorType"))
		}
	}
}
