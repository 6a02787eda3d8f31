package compiler

import "testing"

func TestShapeFits(t *testing.T) {
	env := specShape().fields["environments"].elem
	role := specShape().fields["roles"].elem
	cases := []struct {
		name string
		s    *shape
		json string
		want bool
	}{
		{"minimal env", env, `{"roles":{"web":{"endpoint":"127.0.0.1:1"}}}`, true},
		{"env with everything", env, `{"cloud":"local","roles":{"web":{"endpoint":"e","count":2,"config":{"A":"b"}}},` +
			`"retention":{"keep":1,"warm":0},"after":["x"],"traffic":{"strategy":"canary","steps":[10,100]},"maxAge":"7d"}`, true},
		{"missing required roles", env, `{"cloud":"local"}`, false},
		{"missing required endpoint", env, `{"roles":{"web":{"count":2}}}`, false},
		{"field in another case", env, `{"Roles":{"web":{"endpoint":"e"}}}`, false},
		{"unknown field", env, `{"roles":{},"replicas":2}`, false},
		{"null", env, `{"roles":{},"cloud":null}`, false},
		{"float for int", role, `{"image":"i","count":2.5}`, false},
		{"exponent for int", role, `{"image":"i","count":2e3}`, false},
		{"string for int", role, `{"image":"i","count":"2"}`, false},
		{"number for string", role, `{"image":5}`, false},
		{"list for map", role, `{"image":"i","config":["a"]}`, false},
		{"wrong list element", role, `{"image":"i","warm":["/",1]}`, false},
		{"smoke needs path", role, `{"image":"i","smoke":[{"status":200}]}`, false},
		{"smoke", role, `{"image":"i","smoke":[{"path":"/","status":200,"contains":"ok \"x\""}]}`, true},
		{"analysis", env, `{"roles":{},"traffic":{"strategy":"canary","pause":"30s","bake":"5m",` +
			`"analysis":{"maxErrorRate":0.5,"maxLatency":"300ms","minRequests":20}}}`, true},
		{"whole error rate", env, `{"roles":{},"traffic":{"analysis":{"maxErrorRate":2}}}`, true},
		{"exponent error rate", env, `{"roles":{},"traffic":{"analysis":{"maxErrorRate":1e-1}}}`, true},
		{"string error rate", env, `{"roles":{},"traffic":{"analysis":{"maxErrorRate":"1%"}}}`, false},
		{"bare fraction", env, `{"roles":{},"traffic":{"analysis":{"maxErrorRate":.5}}}`, false},
		{"float min requests", env, `{"roles":{},"traffic":{"analysis":{"minRequests":2.5}}}`, false},
		{"unknown analysis field", env, `{"roles":{},"traffic":{"analysis":{"errorRate":1}}}`, false},
		{"trailing garbage", role, `{"image":"i"} x`, false},
		{"huge int", role, `{"image":"i","count":123456789012345678901}`, false},
	}
	for _, c := range cases {
		if got := c.s.fits([]byte(c.json)); got != c.want {
			t.Errorf("%s: fits(%s) = %v, want %v", c.name, c.json, got, c.want)
		}
	}
}
