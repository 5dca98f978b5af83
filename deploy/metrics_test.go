package deploy

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
)

// checkMetricsStayInternal checks the path of GET /metrics, which is served without
// authentication: on a listener of its own (the API's port answers 404 for it, as the
// real server shows), bound where Prometheus can scrape it, on a container port that the
// Service does not publish and that the network policy opens only to chosen peers; while
// the API's port stays open to some peer.
func checkMetricsStayInternal(c *cluster, f facts) error {
	l, err := c.listeners(f)
	if err != nil {
		return err
	}
	d, ct, env, metricsAddr, apiPort := l.deployment, l.container, l.env, l.metricsAddr, l.apiPort
	answers, err := f.ask([]string{"/metrics"}, metricsAddr != "")
	if err != nil {
		return fmt.Errorf("asking the server: %w", err)
	}
	if code := answers.serving["/metrics"]; code != 404 {
		return fmt.Errorf("%s: the API's port answers /metrics with %s (NOTIFYQL_ENV %q, NOTIFYQL_METRICS_ADDR %q): the metrics would be as public as the API",
			d.file, describe(code), env["NOTIFYQL_ENV"], env["NOTIFYQL_METRICS_ADDR"])
	}
	host, metricsPort, err := hostPort(metricsAddr)
	if err != nil {
		return fmt.Errorf("NOTIFYQL_METRICS_ADDR: %w", err)
	}
	var errs []error
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		errs = append(errs, fmt.Errorf("%s: NOTIFYQL_METRICS_ADDR %s is the pod's loopback, which Prometheus cannot scrape", d.file, metricsAddr))
	}
	if portOf(metricsPort, ct) == 0 {
		errs = append(errs, fmt.Errorf("%s: NOTIFYQL_METRICS_ADDR's port %d is no port of the server container", d.file, metricsPort))
	}
	if port := d.object.Spec.Template.Metadata.Annotations["prometheus.io/port"]; port != "" && port != strconv.Itoa(metricsPort) {
		errs = append(errs, fmt.Errorf("%s: the prometheus.io/port annotation says %s, but /metrics is on %d", d.file, port, metricsPort))
	}
	for _, s := range c.services {
		for _, p := range s.object.Spec.Ports {
			if portOf(p.TargetPort, ct) == metricsPort {
				errs = append(errs, fmt.Errorf("%s: Service %s publishes the metrics port %d", s.file, s.object.Metadata.Name, metricsPort))
			}
		}
	}
	p, err := only(c.policies, "NetworkPolicy")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if !slices.Contains(p.object.Spec.PolicyTypes, "Ingress") {
		errs = append(errs, fmt.Errorf("%s: the policy does not govern Ingress", p.file))
	}
	apiOpen := false
	for i, rule := range p.object.Spec.Ingress {
		admitsPort := func(port int) bool {
			if len(rule.Ports) == 0 {
				return true // a rule without ports admits every port
			}
			for _, rp := range rule.Ports {
				n := portOf(rp.Port, ct)
				if n == port || rp.EndPort != nil && n <= port && port <= *rp.EndPort {
					return true
				}
			}
			return false
		}
		if admitsPort(apiPort) {
			apiOpen = true
		}
		if !admitsPort(metricsPort) {
			continue
		}
		if len(rule.From) == 0 {
			errs = append(errs, fmt.Errorf("%s: ingress rule %d admits the metrics port %d from anywhere", p.file, i+1, metricsPort))
		}
		for _, peer := range rule.From {
			if why := unrestricted(peer); why != "" {
				errs = append(errs, fmt.Errorf("%s: ingress rule %d admits the metrics port %d from %s", p.file, i+1, metricsPort, why))
			}
		}
	}
	if !apiOpen {
		errs = append(errs, fmt.Errorf("%s: no ingress rule admits the API's port %d: the Service would reach nothing", p.file, apiPort))
	}
	return errors.Join(errs...)
}

// unrestricted says why a network policy peer admits more than chosen pods, or "".
func unrestricted(peer networkPeer) string {
	if peer.IPBlock != nil {
		_, block, err := net.ParseCIDR(peer.IPBlock.CIDR)
		if err != nil {
			return fmt.Sprintf("an unreadable ipBlock %q", peer.IPBlock.CIDR)
		}
		if ones, _ := block.Mask.Size(); ones == 0 {
			return "every address (ipBlock " + peer.IPBlock.CIDR + ")"
		}
		return ""
	}
	emptySelector := func(s *labelSelector) bool {
		return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
	}
	switch {
	case peer.NamespaceSelector == nil && peer.PodSelector == nil:
		return "an empty peer"
	case emptySelector(peer.NamespaceSelector) && (peer.PodSelector == nil || emptySelector(peer.PodSelector)):
		return "every pod of every namespace"
	case peer.NamespaceSelector == nil && emptySelector(peer.PodSelector):
		return "every pod of the namespace"
	}
	return ""
}
