package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// statusContract is the JSON of `phoenix status --format json` that
// scripts may rely on (issue 5): each key must be present in every element,
// with a value of the kind given ("string", "number", "bool", "time").
var statusContract = map[string]map[string]string{
	"pools": {
		"id": "string", "env": "string", "role": "string", "key": "string", "generation": "number",
		"image": "string", "commit": "string", "created_at": "time", "serving": "bool", "healthy": "bool",
		"servers": "number",
	},
	"images": {"name": "string", "build_id": "string", "created_at": "time"},
}

// TestStatusJSONKeepsItsContract decodes status after a real apply on the
// in-memory cloud and checks every contract key of every pool and image.
func TestStatusJSONKeepsItsContract(t *testing.T) {
	memoryCLI(t)
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.cue"), []byte(shopSpec("1")), 0o644); err != nil {
		t.Fatal(err)
	}
	phoenix(t, nil, "apply", dir, "--yes")
	var out bytes.Buffer
	phoenix(t, &out, "status", dir, "--format", "json")

	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("status --format json is not JSON: %v\n%s", err, out.String())
	}
	for list, keys := range statusContract {
		items, ok := doc[list].([]any)
		if !ok || len(items) == 0 {
			t.Fatalf("%q is %T with %d elements, want a non-empty list after a deploy:\n%s", list, doc[list], len(items), out.String())
		}
		for i, it := range items {
			obj, ok := it.(map[string]any)
			if !ok {
				t.Fatalf("%s[%d] is %T, want an object", list, i, it)
			}
			for key, kind := range keys {
				v, ok := obj[key]
				if !ok {
					t.Errorf("%s[%d] has no %q: %v", list, i, key, obj)
					continue
				}
				if !ofKind(v, kind) {
					t.Errorf("%s[%d].%s = %#v, want a %s", list, i, key, v, kind)
				}
			}
		}
	}
	serving := 0
	for _, p := range doc["pools"].([]any) {
		if p.(map[string]any)["serving"] == true {
			serving++
		}
	}
	if serving != 2 {
		t.Errorf("%d pools serving after deploying web to staging and prod, want 2", serving)
	}
}

// ofKind reports whether a decoded JSON value is of a contract kind.
func ofKind(v any, kind string) bool {
	switch kind {
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "bool":
		_, ok := v.(bool)
		return ok
	case "time":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	}
	return false
}
