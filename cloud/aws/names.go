package aws

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Names of what Phoenix creates. They are derived from the project and the
// pool id, so a crashed apply finds its half-made resources again, and
// they fit AWS's limits: a target group name is at most 32 characters of
// letters, digits and hyphens, so it is a hash.

// safeName keeps the characters every AWS name here accepts.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// groupName is the auto scaling group of a pool (limit 255).
func groupName(project, poolID string) string {
	return short("phoenix-"+safeName(project)+"-"+safeName(poolID), 255)
}

// templateName is the launch template of a pool (limit 128).
func templateName(project, poolID string) string {
	return short("phoenix-"+safeName(project)+"-"+safeName(poolID), 128)
}

// tgPrefix begins the name of every pool's target group: Observe reads
// the tags only of used target groups so named that are no pool's.
const tgPrefix = "px-"

// targetGroupName is the target group of a pool (limit 32).
func targetGroupName(project, poolID string) string {
	sum := sha256.Sum256([]byte(project + "\x00" + poolID))
	return tgPrefix + hex.EncodeToString(sum[:])[:24]
}

// amiName is the name of a baked AMI, unique per account and region.
func amiName(project, image, buildID string) string {
	return short("phoenix-"+safeName(project)+"-"+safeName(image)+"-"+short(buildID, 16), 128)
}

// artifactKey holds an image's files in the bake bucket.
func artifactKey(project, buildID string) string {
	return "phoenix/artifacts/" + project + "/" + buildID + ".tar.gz"
}

// resultKey is where a builder reports its result and log.
func resultKey(project, buildID string) string {
	return "phoenix/bakes/" + project + "/" + buildID + "/result"
}

// lockKey is the lock object of (project, env).
func lockKey(project, env string) string {
	return lockPrefix(project) + env + ".json"
}

func lockPrefix(project string) string { return "phoenix/locks/" + project + "/" }

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
