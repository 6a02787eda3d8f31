package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/status"
)

// TestStatusTextSummarisesImages: every bake adds a build, so the Images
// line names the newest build of each image and counts the others; --all
// (AllImages) lists every build, and the JSON always holds them all.
func TestStatusTextSummarisesImages(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	d := &model.Desired{Project: "shop", Pools: []*model.Pool{{Env: "prod", Role: "web", Key: strings.Repeat("5", 64), Endpoint: "127.0.0.1:18088"}}}
	live := &cloud.Live{Images: []cloud.Image{
		{Name: "base", BuildID: strings.Repeat("b", 64), CreatedAt: now.Add(-48 * time.Hour)},
		{Name: "web", BuildID: strings.Repeat("1", 64), CreatedAt: now.Add(-72 * time.Hour)},
		{Name: "web", BuildID: strings.Repeat("3", 64), CreatedAt: now.Add(-time.Hour)},
		{Name: "web", BuildID: strings.Repeat("2", 64), CreatedAt: now.Add(-24 * time.Hour), Drift: true},
	}}
	doc := status.Build(d, live, map[string]string{"prod": "local"})
	text := func(all bool) string {
		var b bytes.Buffer
		if err := StatusText(&b, doc, StatusOptions{Now: now, AllImages: all}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	wantInStatus(t, text(false),
		"\nImages: 4 builds of 2 images, the newest of each: base bbbbbbb (2d), web 3333333 (1h) (phoenix status --all lists every build)\n",
		"Drift: image web 2222222 no longer holds what its bake made", // an older drifted build is still named
	)
	wantInStatus(t, text(true), "\nImages: base bbbbbbb (2d), web 3333333 (1h), web 2222222 (24h, drift), web 1111111 (3d)\n")
	if len(doc.Images) != 4 {
		t.Errorf("JSON images: %d, want every build", len(doc.Images))
	}
}
