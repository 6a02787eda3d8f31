package aws

import "strings"

// bucket is one of AWS's request-rate token buckets, per account and
// region: burst calls at once, then rate calls a second. A rate of zero
// is a service that does not throttle at Phoenix's scale (S3).
type bucket struct {
	name  string
	burst int
	rate  float64
}

// defaultBuckets are AWS's documented request rates. ELBv2: the Describe
// calls share one bucket of 40 refilled at 10 a second, mutating calls
// about 3 a second. EC2: non-mutating calls 100 refilled at 20 a second,
// mutating calls 200 at 5. Auto Scaling documents no figures; these are
// the conservative ones operators report. S3 serves thousands a second per
// prefix.
var defaultBuckets = []bucket{
	{name: "elb-describe", burst: 40, rate: 10},
	{name: "elb-mutate", burst: 10, rate: 3},
	{name: "ec2-describe", burst: 100, rate: 20},
	{name: "ec2-mutate", burst: 200, rate: 5},
	{name: "asg-describe", burst: 40, rate: 10},
	{name: "asg-mutate", burst: 20, rate: 5},
	{name: "other", burst: 0, rate: 0},
}

// bucketOf returns the bucket of an operation named "Service.Operation",
// as CallCounter names it.
func bucketOf(op string) bucket {
	service, name, _ := strings.Cut(op, ".")
	read := strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List")
	kind := "-mutate"
	if read {
		kind = "-describe"
	}
	switch service {
	case "Elastic Load Balancing v2":
		return bucketByName("elb" + kind)
	case "EC2":
		return bucketByName("ec2" + kind)
	case "Auto Scaling":
		return bucketByName("asg" + kind)
	}
	return bucketByName("other")
}

func bucketByName(name string) bucket {
	for _, b := range defaultBuckets {
		if b.name == name {
			return b
		}
	}
	return bucket{name: name}
}
