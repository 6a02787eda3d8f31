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

// A drifted image shows in status, in text and JSON, even when every pool
// is healthy: nothing else would say that the next plan rebakes it.
func TestStatusShowsDriftedImages(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	d := &model.Desired{Project: "shop", Pools: []*model.Pool{{Env: "prod", Role: "web", Key: strings.Repeat("5", 64), Endpoint: "127.0.0.1:18088"}}}
	live := &cloud.Live{Images: []cloud.Image{
		{Name: "base", BuildID: strings.Repeat("b", 64), CreatedAt: now.Add(-48 * time.Hour), Drift: true},
		{Name: "web", BuildID: strings.Repeat("c", 64), CreatedAt: now.Add(-time.Hour)},
	}}
	doc := status.Build(d, live, map[string]string{"prod": "local"})
	var b bytes.Buffer
	if err := StatusText(&b, doc, StatusOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
	wantInStatus(t, b.String(),
		"base bbbbbbb (2d, drift), web ccccccc (1h)",
		"Drift: image base bbbbbbb no longer holds what its bake made; phoenix plan shows it rebaked",
	)
	if !doc.Images[0].Drift || doc.Images[1].Drift {
		t.Errorf("JSON images: %+v", doc.Images)
	}
}
