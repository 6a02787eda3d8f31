package compiler

// The defaults of the spec language, documented in schema/phoenix.cue.
// They are applied here, after decoding, rather than in CUE, so that a
// user's closed definitions never meet fields they did not declare.
const (
	defaultCount          = 2
	defaultPort           = 8080
	defaultHealthPath     = "/healthz"
	defaultHealthInterval = "2s"
	defaultHealthTimeout  = "1s"
	defaultSmokeStatus    = 200
	defaultCloud          = "local"
	defaultKeep           = 2
	defaultWarm           = 1 // at most keep
	defaultStrategy       = "blue-green"
	defaultPause          = "30s" // canary only
	defaultMaxErrorRate   = 1.0   // percent
	defaultMinRequests    = 20
)

// applyDefaults fills every unset field that has a default, in place.
func applyDefaults(raw *rawSpec) {
	for _, r := range raw.Roles {
		setDefault(&r.Count, defaultCount)
		setDefault(&r.Port, defaultPort)
		setDefault(&r.Health.Path, defaultHealthPath)
		setDefault(&r.Health.Interval, defaultHealthInterval)
		setDefault(&r.Health.Timeout, defaultHealthTimeout)
		for i := range r.Smoke {
			setDefault(&r.Smoke[i].Status, defaultSmokeStatus)
		}
	}
	for _, e := range raw.Environments {
		setDefault(&e.Cloud, defaultCloud)
		setDefault(&e.Retention.Keep, defaultKeep)
		setDefault(&e.Retention.Warm, min(defaultWarm, max(*e.Retention.Keep, 0)))
		setDefault(&e.Traffic.Strategy, defaultStrategy)
		if *e.Traffic.Strategy == "canary" {
			setDefault(&e.Traffic.Pause, defaultPause)
		}
		if a := e.Traffic.Analysis; a != nil {
			setDefault(&a.MaxErrorRate, defaultMaxErrorRate)
			setDefault(&a.MinRequests, defaultMinRequests)
		}
	}
}

func setDefault[T any](p **T, v T) {
	if *p == nil {
		*p = &v
	}
}
