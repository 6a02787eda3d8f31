package awscloud

import (
	"errors"
	"fmt"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
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
	wrapped := fmt.Errorf("%s: %w", doing, err)
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
