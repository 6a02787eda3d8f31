package compiler

// The raw types mirror the schema: they are what the evaluated spec
// decodes into, before the defaults, the checks and the build of the
// model. Fields with a default are pointers, so that "unset" (take the
// default) differs from a zero the user wrote (an error for count).

type rawSpec struct {
	Project      string               `json:"project"`
	Images       map[string]*rawImage `json:"images"`
	Roles        map[string]*rawRole  `json:"roles"`
	Environments map[string]*rawEnv   `json:"environments"`
}

type rawImage struct {
	From   *string           `json:"from"`
	Parent *string           `json:"parent"`
	Files  map[string]string `json:"files"`
	Steps  []string          `json:"steps"`
	Env    map[string]string `json:"env"`
	MaxAge *string           `json:"maxAge"`
}

type rawRole struct {
	Image   string            `json:"image"`
	Command string            `json:"command"`
	Size    string            `json:"size"`
	Count   *int              `json:"count"`
	Port    *int              `json:"port"`
	Health  rawHealth         `json:"health"`
	Smoke   []rawSmoke        `json:"smoke"`
	Warm    []string          `json:"warm"`
	Config  map[string]string `json:"config"`
}

type rawHealth struct {
	Path     *string `json:"path"`
	Interval *string `json:"interval"`
	Timeout  *string `json:"timeout"`
	Deadline *string `json:"deadline"`
}

type rawSmoke struct {
	Path     string `json:"path"`
	Status   *int   `json:"status"`
	Contains string `json:"contains"`
}

type rawEnv struct {
	Cloud     *string                `json:"cloud"`
	Roles     map[string]*rawEnvRole `json:"roles"`
	Config    map[string]string      `json:"config"`
	Secrets   map[string]string      `json:"secrets"`
	Retention rawRetention           `json:"retention"`
	MaxAge    *string                `json:"maxAge"`
	After     []string               `json:"after"`
	Traffic   rawTraffic             `json:"traffic"`
	AWS       *rawAWS                `json:"aws"`
}

type rawEnvRole struct {
	Count    *int              `json:"count"`
	Size     *string           `json:"size"`
	Config   map[string]string `json:"config"`
	Endpoint string            `json:"endpoint"`
}

type rawRetention struct {
	Keep *int `json:"keep"`
	Warm *int `json:"warm"`
}

type rawTraffic struct {
	Strategy *string      `json:"strategy"`
	Steps    []int        `json:"steps"`
	Pause    *string      `json:"pause"`
	Bake     *string      `json:"bake"`
	Analysis *rawAnalysis `json:"analysis"`
}

type rawAnalysis struct {
	MaxErrorRate *float64 `json:"maxErrorRate"`
	MaxLatency   *string  `json:"maxLatency"`
	MinRequests  *int     `json:"minRequests"`
}

type rawAWS struct {
	Region          string   `json:"region"`
	AssumeRole      string   `json:"assumeRole"`
	Subnets         []string `json:"subnets"`
	SecurityGroups  []string `json:"securityGroups"`
	InstanceProfile string   `json:"instanceProfile"`
	Bucket          string   `json:"bucket"`
}
