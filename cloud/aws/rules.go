package aws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Pool rules
//
// An application load balancer health-checks only the target groups it
// routes to: the targets of a target group that no listener action uses
// stay "unused" (Target.NotInUse) and never turn healthy. A pool must be
// healthy before it takes traffic, so every pool gets a listener rule of
// its own on its endpoint's listener as soon as its target group exists: a
// forward to the pool's target group under a condition no real request
// meets, the header X-Phoenix-Pool with a value that names the pool and
// carries a random token. The rule keeps the pool health-checked while it
// does not serve (new, retained, warmed again) and lets smoke checks reach
// exactly this pool through the load balancer. It is tagged like the
// pool's other resources and deleted first when the pool is pruned.
//
// What serves is the listener's default action only: pool rules never
// count as serving, rules that are not Phoenix's do count when Phoenix
// deletes a target group.

// poolHeader is the request header of pool rules.
const poolHeader = "X-Phoenix-Pool"

// maxRulePriority is the highest priority a listener rule may have.
const maxRulePriority = 50000

// listenerState is what one listener routes, read from its rules.
type listenerState struct {
	arn string
	// defaults are the target groups of the default action: what serves.
	defaults []weighted
	// others are the target groups of rules that are not pool rules: the
	// operator's, which Phoenix never touches and which keep a target
	// group in use.
	others []weighted
	// pools are the pool rules on the listener.
	pools []poolRule
	// used are the priorities taken.
	used map[int]bool
}

// poolRule is one pool rule: its ARN, the target group it forwards to
// and the header value that reaches it.
type poolRule struct {
	arn, tg, value string
}

// ruleFor returns the pool rule of a target group on the listener.
func (l *listenerState) ruleFor(tg string) (poolRule, bool) {
	for _, r := range l.pools {
		if r.tg == tg {
			return r, true
		}
	}
	return poolRule{}, false
}

// poolOf returns the id of the project's pool whose target group is tg,
// from tg's pool rule on the listener: its header value begins with the
// pool's id (ruleValue), and the project's target group of that pool is
// named targetGroupName(project, id). False if there is no such rule or
// the names do not match (another project's pool, an id cut short).
func (l *listenerState) poolOf(project, tg string) (string, bool) {
	r, ok := l.ruleFor(tg)
	if !ok {
		return "", false
	}
	i := strings.LastIndex(r.value, "/")
	if i <= 0 {
		return "", false
	}
	id := r.value[:i]
	return id, targetGroupNameOf(tg) == targetGroupName(project, id)
}

// targetGroupNameOf returns the name in a target group ARN
// (arn:…:targetgroup/NAME/ID).
func targetGroupNameOf(arn string) string {
	_, res, ok := strings.Cut(arn, ":targetgroup/")
	name, _, _ := strings.Cut(res, "/")
	if !ok {
		return ""
	}
	return name
}

// forwardsTo reports whether one of ws is tg.
func forwardsTo(ws []weighted, tg string) bool {
	for _, w := range ws {
		if w.tg == tg {
			return true
		}
	}
	return false
}

// missingListenerError says that a listener the spec names is gone.
func (c *Cloud) missingListenerError(arn string) error {
	ref := c.listeners[arn]
	return notFound("listener %s, the endpoint of %s/%s in the spec, does not exist (Phoenix never creates listeners: create it or fix the spec)",
		arn, ref.env, ref.role)
}

// readListeners reads the rules of listeners, one paginated DescribeRules
// per listener, in parallel. A listener that does not exist is an error if
// the spec names it; one known only from a pool's tags is left out (its
// pools serve nothing there any more).
func (c *Cloud) readListeners(ctx context.Context, arns []string) (map[string]*listenerState, error) {
	out := map[string]*listenerState{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(observeFanout)
	for _, arn := range arns {
		g.Go(func() error {
			l, err := c.readListener(gctx, arn)
			if _, named := c.listeners[arn]; errors.Is(err, cloud.ErrNotFound) && !named {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			out[arn] = l
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// readListener reads one listener's rules: the default rule's action is
// what serves, rules with the pool header are pool rules, the rest are the
// operator's. A listener that does not exist is missingListenerError
// (cloud.ErrNotFound).
func (c *Cloud) readListener(ctx context.Context, arn string) (*listenerState, error) {
	l := &listenerState{arn: arn, used: map[int]bool{}}
	p := elb.NewDescribeRulesPaginator(c.api.ELB, &elb.DescribeRulesInput{ListenerArn: &arn, PageSize: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if hasCode(err, "ListenerNotFound") {
			return nil, c.missingListenerError(arn)
		}
		if err != nil {
			return nil, classify("reading the rules of listener "+arn, err)
		}
		for _, r := range page.Rules {
			switch value, isPool := poolCondition(r.Conditions); {
			case aws.ToBool(r.IsDefault):
				l.defaults = forwardTargets(r.Actions)
			case isPool:
				for _, w := range forwardTargets(r.Actions) {
					l.pools = append(l.pools, poolRule{arn: aws.ToString(r.RuleArn), tg: w.tg, value: value})
				}
			default:
				l.others = append(l.others, forwardTargets(r.Actions)...)
			}
			if n, err := strconv.Atoi(aws.ToString(r.Priority)); err == nil {
				l.used[n] = true
			}
		}
	}
	return l, nil
}

// poolCondition returns the header value of a pool rule's condition.
func poolCondition(conds []elbtypes.RuleCondition) (string, bool) {
	for _, c := range conds {
		h := c.HttpHeaderConfig
		if aws.ToString(c.Field) == "http-header" && h != nil && strings.EqualFold(aws.ToString(h.HttpHeaderName), poolHeader) && len(h.Values) == 1 {
			return h.Values[0], true
		}
	}
	return "", false
}

// listenerRules are one listener's rules, read once for the calls of one
// action (a swap's readiness checks of its backends and its record of
// what served) unless one of them must read them again.
type listenerRules struct {
	arn  string
	read *listenerState // nil until read
}

// get returns the listener's rules, reading them if they are not read yet
// or again is set.
func (r *listenerRules) get(ctx context.Context, c *Cloud, again bool) (*listenerState, error) {
	if r.read == nil || again {
		l, err := c.readListener(ctx, r.arn)
		if err != nil {
			return nil, err
		}
		r.read = l
	}
	return r.read, nil
}

// ensureRule gives a pool's target group its rule on the listener, or
// finds the one an earlier run made, and returns it. A priority taken
// meanwhile by another writer is retried with the listener read again.
func (c *Cloud) ensureRule(ctx context.Context, listener, poolID, tg string, tags tagSet) (r poolRule, created bool, err error) {
	return c.ensureRuleIn(ctx, &listenerRules{arn: listener}, poolID, tg, tags)
}

// ensureRuleIn is ensureRule on rules as read already, if they are; a
// rule it makes is added to them.
func (c *Cloud) ensureRuleIn(ctx context.Context, rules *listenerRules, poolID, tg string, tags tagSet) (r poolRule, created bool, err error) {
	listener := rules.arn
	for attempt := 0; ; attempt++ {
		l, err := rules.get(ctx, c, attempt > 0)
		if err != nil {
			return poolRule{}, false, err
		}
		if r, ok := l.ruleFor(tg); ok {
			return r, false, nil
		}
		prio := freePriority(l.used)
		if prio == 0 {
			return poolRule{}, false, fmt.Errorf("listener %s has no free rule priority for pool %s", listener, poolID)
		}
		value, err := ruleValue(poolID)
		if err != nil {
			return poolRule{}, false, err
		}
		out, err := c.api.ELB.CreateRule(ctx, &elb.CreateRuleInput{
			ListenerArn: &listener,
			Priority:    aws.Int32(int32(prio)),
			Conditions: []elbtypes.RuleCondition{{
				Field:            aws.String("http-header"),
				HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String(poolHeader), Values: []string{value}},
			}},
			Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &tg}},
			Tags:    ruleTags(tags).elb(),
		})
		if hasCode(err, "PriorityInUse") && attempt < 5 {
			continue
		}
		if hasCode(err, "TooManyRules") {
			return poolRule{}, false, fmt.Errorf("adding the rule of pool %s to listener %s: the load balancer's rule quota is full (prune retained pools or raise the quota): %w", poolID, listener, err)
		}
		if err != nil {
			return poolRule{}, false, classify("adding the rule of pool "+poolID+" to listener "+listener, err)
		}
		arn := ""
		if len(out.Rules) > 0 {
			arn = aws.ToString(out.Rules[0].RuleArn)
		}
		r := poolRule{arn: arn, tg: tg, value: value}
		l.pools = append(l.pools, r)
		l.used[prio] = true
		return r, true, nil
	}
}

// ruleTags are a pool's tags without the ones that change over its life.
func ruleTags(t tagSet) tagSet {
	out := tagSet{}
	for _, k := range []string{tagProject, tagEnv, tagRole, tagPool, tagKey, tagGeneration, tagCommit, tagName} {
		if v, ok := t[k]; ok {
			out[k] = v
		}
	}
	return out
}

// freePriority returns the lowest free priority, or 0 if none is. Low
// numbers are evaluated first, so smoke requests reach the pool even where
// the operator has rules that match every path; real requests never carry
// the header.
func freePriority(used map[int]bool) int {
	for p := 1; p <= maxRulePriority; p++ {
		if !used[p] {
			return p
		}
	}
	return 0
}

// ruleValue is the header value of a pool's rule: the pool id and a
// random token, so that a client who knows the pool id still cannot reach
// a pool that does not serve.
func ruleValue(poolID string) (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making a rule token: %w", err)
	}
	return short(poolID, 128-1-2*len(b)) + "/" + hex.EncodeToString(b), nil
}

// deletePoolRules deletes the pool rules that forward to tgs on the
// listeners, after checking they carry the project's tags.
func (c *Cloud) deletePoolRules(ctx context.Context, project string, ls map[string]*listenerState, tgs []string) error {
	set := map[string]bool{}
	for _, l := range ls {
		for _, tg := range tgs {
			if r, ok := l.ruleFor(tg); ok && r.arn != "" {
				set[r.arn] = true
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	arns := sortedKeys(set)
	owned, err := c.ownedRules(ctx, project, arns)
	if err != nil {
		return err
	}
	for _, arn := range arns {
		if _, ok := owned[arn]; !ok {
			continue // a rule without the project's tags is not Phoenix's to delete
		}
		if _, err := c.api.ELB.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: &arn}); err != nil && !hasCode(err, "RuleNotFound") {
			return classify("deleting listener rule "+arn, err)
		}
	}
	return nil
}

// ownedRules returns the tags of those of arns that carry the project's
// tags.
func (c *Cloud) ownedRules(ctx context.Context, project string, arns []string) (map[string]tagSet, error) {
	tags, err := c.elbTags(ctx, arns)
	if err != nil {
		return nil, err
	}
	for arn, t := range tags {
		if !t.owned(project) {
			delete(tags, arn)
		}
	}
	return tags, nil
}

// elbTags reads the tags of load balancer resources (rules, target
// groups), 20 a call as DescribeTags takes them. Resources deleted
// meanwhile have none.
func (c *Cloud) elbTags(ctx context.Context, arns []string) (map[string]tagSet, error) {
	out := map[string]tagSet{}
	for i := 0; i < len(arns); i += 20 {
		page, err := c.api.ELB.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: arns[i:min(i+20, len(arns))]})
		if hasCode(err, "RuleNotFound", "TargetGroupNotFound") {
			continue
		}
		if err != nil {
			return nil, classify("reading the tags of load balancer resources", err)
		}
		for _, d := range page.TagDescriptions {
			out[aws.ToString(d.ResourceArn)] = elbTagSet(d.Tags)
		}
	}
	return out, nil
}
