package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"logship/buffer"
)

// class is what the sink does about an API error. One classifier (classify)
// decides it for every call, from the error codes the API reference lists
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html#API_PutLogEvents_Errors,
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/CommonErrors.html).
type class uint8

const (
	// classThrottled: ThrottlingException and its relatives. Retryable.
	classThrottled class = iota
	// classServer: 5xx, ServiceUnavailableException, InternalFailure,
	// OperationAbortedException (a conflicting concurrent update), and a
	// response that could not be read. Retryable.
	classServer
	// classNetwork: the request or response did not get through (connection
	// refused or reset, timeouts, a cancelled context). Retryable.
	classNetwork
	// classAuth: credentials that a refresh or the SDK's clock-skew
	// correction can fix (ExpiredToken*, RequestExpired,
	// InvalidSignatureException). Retryable; the sink invalidates its cached
	// credentials first.
	classAuth
	// classNotFound: ResourceNotFoundException. The sink creates the group and
	// stream when AutoCreateStream is set; otherwise permanent.
	classNotFound
	// classExists: ResourceAlreadyExistsException. Success for Create*.
	classExists
	// classAccepted: DataAlreadyAcceptedException (legacy, never returned
	// since 2023): the batch was stored, so it counts as delivered.
	classAccepted
	// classPermanent: everything retrying cannot fix: validation
	// (InvalidParameterException), access (AccessDeniedException),
	// unknown client (UnrecognizedClientException: a wrong or deleted key;
	// the issue makes it permanent, and the chunk goes to the dead-letter
	// directory rather than being lost), resource limits
	// (LimitExceededException, which the SDK would wrongly retry as a
	// throttle), and any other 4xx.
	classPermanent
	// classUnknown: not an API, transport or context error (for example
	// credentials that could not be resolved). Retryable: the buffer bounds
	// the retries, and no data is dropped on a guess.
	classUnknown
)

var classNames = [...]string{
	classThrottled: "throttled",
	classServer:    "server",
	classNetwork:   "network",
	classAuth:      "auth",
	classNotFound:  "not_found",
	classExists:    "already_exists",
	classAccepted:  "already_accepted",
	classPermanent: "permanent",
	classUnknown:   "unknown",
}

func (c class) String() string { return classNames[c] }

// retryable reports whether the buffer should retry an error of class c.
func (c class) retryable() bool {
	switch c {
	case classThrottled, classServer, classNetwork, classAuth, classUnknown:
		return true
	}
	return false
}

// classify returns the class of an error returned by a CloudWatch Logs call.
func classify(err error) class {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ThrottlingException", "Throttling", "TooManyRequestsException",
			"RequestLimitExceeded", "RequestThrottled", "RequestThrottledException",
			"ProvisionedThroughputExceededException", "SlowDown":
			return classThrottled
		case "ServiceUnavailableException", "ServiceUnavailable", "InternalFailure",
			"InternalServerError", "InternalError", "OperationAbortedException",
			"RequestTimeout", "RequestTimeoutException":
			return classServer
		case "ExpiredToken", "ExpiredTokenException", "RequestExpired",
			"InvalidSignatureException", "SignatureDoesNotMatch":
			return classAuth
		case "ResourceNotFoundException":
			return classNotFound
		case "ResourceAlreadyExistsException":
			return classExists
		case "DataAlreadyAcceptedException":
			return classAccepted
		case "InvalidSequenceTokenException":
			// Legacy: sequence tokens are ignored since 2023. Sending the
			// same batch again is what the old token dance did.
			return classServer
		case "InvalidParameterException", "AccessDeniedException", "AccessDenied",
			"UnrecognizedClientException", "LimitExceededException",
			"InvalidOperationException", "TooManyTagsException", "ValidationException",
			"MissingAuthenticationToken", "IncompleteSignature", "OptInRequired",
			"ConflictException":
			return classPermanent
		}
		if apiErr.ErrorFault() == smithy.FaultServer {
			return classServer
		}
		// An unmodelled code: decide by the HTTP status below.
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.Response != nil {
		switch s := respErr.HTTPStatusCode(); {
		case s == 429:
			return classThrottled
		case s == 408 || s >= 500:
			return classServer
		case s >= 400:
			return classPermanent
		}
	}
	if apiErr != nil {
		return classPermanent
	}
	var sendErr *smithyhttp.RequestSendError
	var netErr net.Error
	switch {
	case errors.As(err, &sendErr), errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return classNetwork
	}
	var deserErr *smithy.DeserializationError
	if errors.As(err, &deserErr) {
		return classServer
	}
	return classUnknown
}

// permanent marks err as not retryable for the buffer.
func permanent(err error) error {
	return fmt.Errorf("%w: %w", buffer.ErrPermanent, err)
}
