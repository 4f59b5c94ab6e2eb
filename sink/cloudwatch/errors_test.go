package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// apiErr returns an error shaped as the SDK returns a service error: an
// OperationError around an HTTP ResponseError around the API error.
func apiErr(status int, err error) error {
	return &smithy.OperationError{
		ServiceID:     "CloudWatch Logs",
		OperationName: "PutLogEvents",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      err,
			},
			RequestID: "req-1",
		},
	}
}

func code(c string) error { return &smithy.GenericAPIError{Code: c, Message: "m"} }

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want class
	}{
		{"ThrottlingException", apiErr(400, &types.ThrottlingException{Message: strp("Rate exceeded")}), classThrottled},
		{"generic Throttling code", apiErr(400, code("Throttling")), classThrottled},
		{"HTTP 429 unknown code", apiErr(429, code("Whatever")), classThrottled},
		{"ServiceUnavailableException 500", apiErr(500, &types.ServiceUnavailableException{}), classServer},
		{"unknown code 503", apiErr(503, code("Oops")), classServer},
		{"unknown code 502", apiErr(502, code("")), classServer},
		{"OperationAbortedException", apiErr(400, &types.OperationAbortedException{}), classServer},
		{"InvalidSequenceTokenException", apiErr(400, &types.InvalidSequenceTokenException{}), classServer},
		{"ExpiredTokenException", apiErr(400, code("ExpiredTokenException")), classAuth},
		{"InvalidSignatureException", apiErr(403, code("InvalidSignatureException")), classAuth},
		{"ResourceNotFoundException", apiErr(400, &types.ResourceNotFoundException{}), classNotFound},
		{"ResourceAlreadyExistsException", apiErr(400, &types.ResourceAlreadyExistsException{}), classExists},
		{"DataAlreadyAcceptedException", apiErr(400, &types.DataAlreadyAcceptedException{}), classAccepted},
		{"InvalidParameterException", apiErr(400, &types.InvalidParameterException{}), classPermanent},
		{"AccessDeniedException", apiErr(400, code("AccessDeniedException")), classPermanent},
		{"UnrecognizedClientException", apiErr(400, &types.UnrecognizedClientException{}), classPermanent},
		{"LimitExceededException is not a throttle", apiErr(400, &types.LimitExceededException{}), classPermanent},
		{"unknown 4xx code", apiErr(400, code("SomethingNew")), classPermanent},
		{"HTTP 403 unknown code", apiErr(403, code("")), classPermanent},
		{"API error without HTTP", code("SomethingNew"), classPermanent},
		{"server fault without HTTP", &smithy.GenericAPIError{Code: "X", Fault: smithy.FaultServer}, classServer},
		{"connection refused", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}}, classNetwork},
		{"connection reset", &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: syscall.ECONNRESET}}, classNetwork},
		{"net.Error timeout", &net.DNSError{IsTimeout: true}, classNetwork},
		{"deadline", fmt.Errorf("put: %w", context.DeadlineExceeded), classNetwork},
		{"canceled", context.Canceled, classNetwork},
		{"unreadable response", &smithy.OperationError{Err: &smithy.DeserializationError{Err: io.ErrUnexpectedEOF}}, classServer},
		{"anything else", errors.New("no credentials"), classUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Fatalf("classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func strp(s string) *string { return &s }
