package cloud

import (
	"context"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"
)

// Set holds the clouds a spec uses, by name. A spec may put some
// environments on the local cloud and others on AWS.
type Set map[string]Cloud

// Get returns the cloud called name or an error that names the known ones.
func (s Set) Get(name string) (Cloud, error) {
	if c, ok := s[name]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("cloud %q is not configured", name)
}

// Observe reads every cloud of the set in parallel and merges their live
// states. Each image, pool and endpoint carries the name of its cloud.
func (s Set) Observe(ctx context.Context, project string) (*Live, error) {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]*Live, len(names))
	g, ctx := errgroup.WithContext(ctx)
	for i, n := range names {
		g.Go(func() error {
			l, err := s[n].Observe(ctx, project)
			if err != nil {
				return fmt.Errorf("observing %s cloud: %w", n, err)
			}
			parts[i] = l
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := &Live{}
	for i, l := range parts {
		for _, im := range l.Images {
			im.Cloud = names[i]
			out.Images = append(out.Images, im)
		}
		for _, p := range l.Pools {
			p.Cloud = names[i]
			out.Pools = append(out.Pools, p)
		}
		for _, e := range l.Endpoints {
			e.Cloud = names[i]
			out.Endpoints = append(out.Endpoints, e)
		}
		out.Locks = append(out.Locks, l.Locks...)
	}
	return out, nil
}
