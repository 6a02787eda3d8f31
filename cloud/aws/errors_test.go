package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/phoenix-gitops/phoenix/model"
)

// s3Answering is an S3 client whose every call gets status and an S3 error
// document with code, from a local server: the SDK builds its error exactly
// as it does for AWS.
func s3Answering(t *testing.T, status int, code string) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amz-request-id", "REQ123")
		w.Header().Set("x-amz-id-2", "HOST456")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>msg of %s</Message><RequestId>REQ123</RequestId><HostId>HOST456</HostId></Error>`, code, code)
	}))
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
}

func TestClassifySaysServiceOperationCodeAndMessage(t *testing.T) {
	_, err := s3Answering(t, 404, "NoSuchBucket").ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("b")})
	got := classify("listing locks in b", err)
	want := "listing locks in b: S3 ListObjectsV2: NoSuchBucket: msg of NoSuchBucket"
	if got.Error() != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if !hasCode(got, "NoSuchBucket") {
		t.Errorf("the code is no longer readable from %v", got)
	}
	var raw interface{ HTTPStatusCode() int }
	if !errors.As(got, &raw) || raw.HTTPStatusCode() != 404 {
		t.Errorf("the SDK's error is no longer wrapped: %v", got)
	}

	// AWS's own faults keep the request id, which AWS support asks for.
	_, err = s3Answering(t, 500, "InternalError").ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("b")})
	got = classify("listing", err)
	if !strings.Contains(got.Error(), "S3 ListObjectsV2: InternalError") || !strings.Contains(got.Error(), "request id REQ123") {
		t.Errorf("server fault: %q", got)
	}
	if strings.Contains(got.Error(), "HOST456") || strings.Contains(got.Error(), "StatusCode") {
		t.Errorf("server fault keeps transport noise: %q", got)
	}
}

// A listener ARN of another region than its environment's is refused when
// the cloud is opened, saying so (was: plan said the listener does not
// exist).
func TestListenerOfAnotherRegion(t *testing.T) {
	d := &model.Desired{Project: "shop",
		Environments: map[string]*model.Environment{"prod": {Name: "prod", Cloud: Name,
			AWS: &model.AWS{Region: "us-east-1", Subnets: []string{"subnet-1"}, Bucket: "b"}}},
		Pools: []*model.Pool{{Env: "prod", Role: "web", Cloud: Name,
			Endpoint: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/1/2"}}}
	_, err := New(Clients{}, d, Options{})
	if err == nil || !strings.Contains(err.Error(), "environment prod, role web: endpoint") ||
		!strings.Contains(err.Error(), "is a listener in eu-west-1, but aws.region of prod is us-east-1") {
		t.Fatalf("New = %v", err)
	}
	d.Pools[0].Endpoint = listenerARN
	if _, err := New(Clients{}, d, Options{}); err != nil {
		t.Fatalf("a listener of the environment's region: %v", err)
	}
}
