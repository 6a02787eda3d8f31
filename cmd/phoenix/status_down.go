package main

import (
	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/local"
	"github.com/phoenix-gitops/phoenix/model"
)

// localDownText says what a local cloud with no supervisor means for its
// users: the supervisor owns every endpoint's proxy, so when it is gone
// (cloud down, a crash, a reboot) nothing listens on any endpoint until a
// command starts it again. A dead supervisor was silent about that.
const localDownText = "Every endpoint of the local cloud is down: no proxy listens on its address until its supervisor runs again. " +
	"phoenix cloud up brings them back (phoenix apply does too); " +
	"phoenix cloud up --systemd installs a user unit that keeps the supervisor running (README: Keeping the local cloud up)."

// localDownNote says that the local cloud of clouds was read while down,
// or is empty, and that none of its endpoints answers.
func localDownNote(clouds cloud.Set) string {
	lc, ok := clouds[model.CloudLocal].(*local.Cloud)
	if !ok || !lc.ObservedOffline() {
		return ""
	}
	return "The local cloud is not running (phoenix cloud down, a supervisor that died, or never started): this is its recorded state. " + localDownText
}
