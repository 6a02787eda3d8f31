package aws

import (
	"errors"
	"fmt"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// classify wraps an SDK error with what Phoenix was doing. Throttling and
// timeouts that outlived the SDK's own retryer become cloud.TransientError,
// so the executor may retry the step; everything else is permanent.
func classify(doing string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("%s: %w", doing, concise(err))
	if isTransient(err) {
		return &cloud.TransientError{Err: wrapped}
	}
	return wrapped
}

func isTransient(err error) bool {
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		return true
	}
	switch apiCode(err) {
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
		"SlowDown", "RequestThrottled", "RequestThrottledException", "ProvisionedThroughputExceededException",
		"ServiceUnavailable", "InternalError", "InternalFailure", "RequestTimeout", "RequestTimeoutException":
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return false
}

// apiCode returns the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// hasCode reports whether err is an AWS error with one of codes.
func hasCode(err error, codes ...string) bool {
	c := apiCode(err)
	for _, x := range codes {
		if c == x {
			return true
		}
	}
	return false
}

// apiError is an AWS API error as an operator reads it: service,
// operation, AWS's error code and message, e.g. "S3 ListObjectsV2:
// NoSuchBucket: The specified bucket does not exist". The SDK's own text
// puts the HTTP status, request id and host id between them; the request
// id is kept only for AWS's own faults, where support asks for it. It
// unwraps to the SDK's error, so codes and retries read it as before.
type apiError struct {
	err  error
	text string
}

func (e *apiError) Error() string { return e.text }
func (e *apiError) Unwrap() error { return e.err }

// concise returns err as an apiError when it is an SDK operation error
// carrying an AWS error code, and err unchanged otherwise (a network error,
// missing credentials, a waiter's timeout).
func concise(err error) error {
	oe, ok := err.(*smithy.OperationError)
	var ae smithy.APIError
	if !ok || !errors.As(err, &ae) {
		return err
	}
	text := fmt.Sprintf("%s %s: %s", oe.Service(), oe.Operation(), ae.ErrorCode())
	if m := ae.ErrorMessage(); m != "" {
		text += ": " + m
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && (ae.ErrorFault() == smithy.FaultServer || re.HTTPStatusCode() >= 500) && re.ServiceRequestID() != "" {
		text += " (request id " + re.ServiceRequestID() + ")"
	}
	return &apiError{err: err, text: text}
}

// notFoundError is a message that already says what does not exist and
// what to do; it is cloud.ErrNotFound for errors.Is without the ": not
// found" that wrapping the sentinel would append.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == cloud.ErrNotFound }

func notFound(format string, args ...any) error {
	return &notFoundError{msg: fmt.Sprintf(format, args...)}
}
