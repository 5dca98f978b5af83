package deploy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stopMargin is what a supervisor's stop timeout must leave after the drain delay and the
// HTTP shutdown: serve then stops the live path, closes Redis and the database pool.
const stopMargin = 5 * time.Second

// imageCacheDir is where the image's user keeps PDFium's compiled module: the nonroot
// user's home in distroless (os.UserCacheDir), which must be writable.
const imageCacheDir = "/home/nonroot/.cache"

// facts are what the checks compare the files with: the README's configuration table, the
// variables the configuration code reads, the server's shutdown timeout and its routes.
type facts struct {
	readme   map[string]string
	code     map[string]bool
	shutdown time.Duration
	// ask runs the real server and reports its answers on the API's listener.
	ask func(paths []string, separateMetrics bool) (routeAnswers, error)
}

// listenAddrs are where the pod's server listens, as its environment and the README's
// defaults say: the API's address, and /metrics' ("" when served beside the API, as
// development does).
func (f facts) listenAddrs(env map[string]string) (api, metrics string, err error) {
	api = env["NOTIFYQL_ADDR"]
	if api == "" {
		if api, err = readmeDefault(f.readme, "NOTIFYQL_ADDR"); err != nil {
			return "", "", err
		}
	}
	metrics = env["NOTIFYQL_METRICS_ADDR"]
	if metrics == "" && env["NOTIFYQL_ENV"] != "development" {
		if metrics, err = readmeDefault(f.readme, "NOTIFYQL_METRICS_ADDR"); err != nil {
			return "", "", err
		}
	}
	return api, metrics, nil
}

// checkProbes checks the serving container's probes against the real server: each GETs
// the API's port; the readiness probe's path answers 200 while the server serves and 503
// once it drains (so that traffic moves away before it stops), and the liveness and
// startup probes' paths answer 200 throughout (so that a draining pod is not killed).
func checkProbes(c *cluster, f facts) error {
	l, err := c.listeners(f)
	if err != nil {
		return err
	}
	d, ct, apiAddr, metricsAddr, apiPort := l.deployment, l.container, l.apiAddr, l.metricsAddr, l.apiPort
	var errs []error
	probes := []struct {
		name  string
		probe *probe
	}{{"readinessProbe", ct.ReadinessProbe}, {"livenessProbe", ct.LivenessProbe}, {"startupProbe", ct.StartupProbe}}
	var paths []string
	for _, p := range probes {
		switch {
		case p.probe == nil && p.name == "startupProbe":
			continue
		case p.probe == nil:
			errs = append(errs, fmt.Errorf("%s: the server container has no %s", d.file, p.name))
			continue
		case p.probe.HTTPGet == nil:
			errs = append(errs, fmt.Errorf("%s: the %s is not an httpGet", d.file, p.name))
			continue
		}
		if port := portOf(p.probe.HTTPGet.Port, ct); port != apiPort {
			errs = append(errs, fmt.Errorf("%s: the %s GETs port %v, which is not the container port the API listens on (%d, NOTIFYQL_ADDR %s)",
				d.file, p.name, p.probe.HTTPGet.Port, apiPort, apiAddr))
		}
		paths = append(paths, p.probe.HTTPGet.Path)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	answers, err := f.ask(paths, metricsAddr != "")
	if err != nil {
		return fmt.Errorf("asking the server: %w", err)
	}
	for _, p := range probes {
		if p.probe == nil {
			continue
		}
		path := p.probe.HTTPGet.Path
		serving, draining := answers.serving[path], answers.draining[path]
		if serving != 200 {
			errs = append(errs, fmt.Errorf("%s: the %s GETs %s, which the server answers %s: not a route it serves", d.file, p.name, path, describe(serving)))
			continue
		}
		if p.name == "readinessProbe" && draining != 503 {
			errs = append(errs, fmt.Errorf("%s: the readinessProbe GETs %s, which still answers %s while the server drains: the pod would get traffic until it stops", d.file, path, describe(draining)))
		}
		if p.name != "readinessProbe" && draining != 200 {
			errs = append(errs, fmt.Errorf("%s: the %s GETs %s, which answers %s while the server drains: the kubelet would kill a pod that is stopping cleanly", d.file, p.name, path, describe(draining)))
		}
	}
	return errors.Join(errs...)
}

// checkDrain checks that stopping agrees: the preStop sleep lasts NOTIFYQL_DRAIN_DELAY,
// and terminationGracePeriodSeconds covers the sleep, the server's drain delay after
// SIGTERM, its shutdown timeout and the rest of its stop.
func checkDrain(c *cluster, f facts) error {
	d, ct, err := c.servingContainer()
	if err != nil {
		return err
	}
	env, err := c.environment(ct)
	if err != nil {
		return err
	}
	drainDefault, err := readmeDefault(f.readme, "NOTIFYQL_DRAIN_DELAY")
	if err != nil {
		return err
	}
	drain, err := drainDelay(env, drainDefault)
	if err != nil {
		return err
	}
	var errs []error
	preStop := ct.Lifecycle.PreStop
	var sleep time.Duration
	switch {
	case preStop != nil && preStop.Exec != nil:
		errs = append(errs, fmt.Errorf("%s: the preStop hook runs a command, but the image has no shell or sleep: use the kubelet's sleep", d.file))
	case preStop == nil || preStop.Sleep == nil:
		errs = append(errs, fmt.Errorf("%s: the server container has no preStop sleep: SIGTERM would come before kube-proxy and the ingress stop sending it traffic", d.file))
	default:
		sleep = time.Duration(preStop.Sleep.Seconds) * time.Second
		if sleep != drain {
			errs = append(errs, fmt.Errorf("%s: the preStop sleep is %s but NOTIFYQL_DRAIN_DELAY is %s: they should match", d.file, sleep, drain))
		}
	}
	if sleep <= 0 && drain <= 0 {
		errs = append(errs, fmt.Errorf("%s: neither a preStop sleep nor NOTIFYQL_DRAIN_DELAY: the pod would stop while traffic still comes", d.file))
	}
	grace := 30 * time.Second // Kubernetes' default
	if g := d.object.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if need := sleep + drain + f.shutdown + stopMargin; grace < need {
		errs = append(errs, fmt.Errorf("%s: terminationGracePeriodSeconds is %s, less than the preStop sleep %s, the drain delay %s, the shutdown timeout %s and %s for the rest (%s): the pod would be killed before its WebSockets close with 1001",
			d.file, grace, sleep, drain, f.shutdown, stopMargin, need))
	}
	return errors.Join(errs...)
}

// checkSelectors checks that every object meant for the server's pods selects them: the
// Deployment's own selector, the Service, the disruption budget, the network policy and
// the topology spread; that the autoscaler scales that Deployment; and that the migration
// Job's pods are none of them.
func checkSelectors(c *cluster) error {
	d, ct, err := c.servingContainer()
	if err != nil {
		return err
	}
	podLabels := d.object.Spec.Template.Metadata.Labels
	var errs []error
	selectsPods := func(what string, selector labelSelector) {
		switch {
		case len(selector.MatchLabels) == 0:
			errs = append(errs, fmt.Errorf("%s has an empty selector: it would pick every pod of the namespace", what))
		case len(selector.MatchExpressions) > 0:
			errs = append(errs, fmt.Errorf("%s selects with matchExpressions, which the checks do not read: use matchLabels", what))
		case !selects(selector.MatchLabels, podLabels):
			errs = append(errs, fmt.Errorf("%s selects %v, which the server's pods (labelled %v) do not match", what, selector.MatchLabels, podLabels))
		}
	}
	selectsPods(d.file+": the Deployment", d.object.Spec.Selector)
	for _, t := range d.object.Spec.Template.Spec.TopologySpreadConstraints {
		selectsPods(d.file+": a topology spread constraint", t.LabelSelector)
	}
	if len(c.services) == 0 {
		errs = append(errs, errors.New("no Service sends the server's pods traffic"))
	}
	for _, s := range c.services {
		selectsPods(s.file+": Service "+s.object.Metadata.Name, labelSelector{MatchLabels: s.object.Spec.Selector})
		for _, p := range s.object.Spec.Ports {
			if portOf(p.TargetPort, ct) == 0 {
				errs = append(errs, fmt.Errorf("%s: Service port %s targets %v, which is no port of the server container", s.file, p.Name, p.TargetPort))
			}
		}
	}
	for _, b := range c.budgets {
		selectsPods(b.file+": PodDisruptionBudget "+b.object.Metadata.Name, b.object.Spec.Selector)
	}
	for _, p := range c.policies {
		selectsPods(p.file+": NetworkPolicy "+p.object.Metadata.Name, p.object.Spec.PodSelector)
	}
	for _, h := range c.autoscalers {
		ref := h.object.Spec.ScaleTargetRef
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.object.Metadata.Name {
			errs = append(errs, fmt.Errorf("%s: the autoscaler scales %s %s %q, not the Deployment %q", h.file, ref.APIVersion, ref.Kind, ref.Name, d.object.Metadata.Name))
		}
	}
	for _, j := range c.jobs {
		labels := j.object.Spec.Template.Metadata.Labels
		if selects(d.object.Spec.Selector.MatchLabels, labels) {
			errs = append(errs, fmt.Errorf("%s: the Job's pods (%v) match the Deployment's selector: it would count them as its own", j.file, labels))
		}
		for _, s := range c.services {
			if len(s.object.Spec.Selector) > 0 && selects(s.object.Spec.Selector, labels) {
				errs = append(errs, fmt.Errorf("%s: the Job's pods (%v) match Service %s, which would send them requests", j.file, labels, s.object.Metadata.Name))
			}
		}
	}
	return errors.Join(errs...)
}

// checkScaling checks the autoscaler and the disruption budget together: CPU utilisation
// of a container that requests CPU, at least two pods, a Deployment that leaves the count
// to the autoscaler, and a budget that lets a drain take one pod.
func checkScaling(c *cluster) error {
	d, ct, err := c.servingContainer()
	if err != nil {
		return err
	}
	h, err := only(c.autoscalers, "HorizontalPodAutoscaler")
	if err != nil {
		return err
	}
	b, err := only(c.budgets, "PodDisruptionBudget")
	if err != nil {
		return err
	}
	var errs []error
	if d.object.Spec.Replicas != nil {
		errs = append(errs, fmt.Errorf("%s: the Deployment sets replicas, which every apply would reset under the autoscaler", d.file))
	}
	spec := h.object.Spec
	minReplicas := 1
	if spec.MinReplicas != nil {
		minReplicas = *spec.MinReplicas
	}
	if minReplicas < 2 {
		errs = append(errs, fmt.Errorf("%s: minReplicas %d: one pod is a single point of failure, and the budget could never let it go", h.file, minReplicas))
	}
	if spec.MaxReplicas < minReplicas {
		errs = append(errs, fmt.Errorf("%s: maxReplicas %d is under minReplicas %d", h.file, spec.MaxReplicas, minReplicas))
	}
	onCPU := slices.ContainsFunc(spec.Metrics, func(m autoscalerMetric) bool {
		return m.Type == "Resource" && m.Resource != nil && m.Resource.Name == "cpu" &&
			m.Resource.Target.Type == "Utilization" && m.Resource.Target.AverageUtilization != nil && *m.Resource.Target.AverageUtilization > 0
	})
	if !onCPU {
		errs = append(errs, fmt.Errorf("%s: the autoscaler has no CPU utilisation target", h.file))
	}
	if ct.Resources.Requests["cpu"] == "" {
		errs = append(errs, fmt.Errorf("%s: the server container requests no CPU, of which the autoscaler's utilisation is a share", d.file))
	}
	budget := b.object.Spec
	switch {
	case budget.MaxUnavailable != nil && budget.MinAvailable != nil:
		errs = append(errs, fmt.Errorf("%s: the budget sets both maxUnavailable and minAvailable", b.file))
	case budget.MaxUnavailable != nil:
		if n, err := strconv.Atoi(fmt.Sprint(budget.MaxUnavailable)); (err == nil && n < 1) || fmt.Sprint(budget.MaxUnavailable) == "0%" {
			errs = append(errs, fmt.Errorf("%s: maxUnavailable %v lets no drain take a pod", b.file, budget.MaxUnavailable))
		}
	case budget.MinAvailable != nil:
		if n, err := strconv.Atoi(fmt.Sprint(budget.MinAvailable)); err != nil || n >= minReplicas {
			errs = append(errs, fmt.Errorf("%s: minAvailable %v may leave no pod to drain at %d replicas", b.file, budget.MinAvailable, minReplicas))
		}
	default:
		errs = append(errs, fmt.Errorf("%s: the budget sets neither maxUnavailable nor minAvailable", b.file))
	}
	return errors.Join(errs...)
}

// checkContainers checks how the pods run the image: the Deployment runs serve and the
// Job migrate, both with the same image and its entrypoint; as the image's non-root user,
// without privilege escalation; with a writable cache folder when the root file system is
// read-only; and reading ConfigMaps and Secrets that the manifests define.
func checkContainers(c *cluster, uid int) error {
	d, ct, err := c.servingContainer()
	if err != nil {
		return err
	}
	var errs []error
	if len(ct.Command) > 0 {
		errs = append(errs, fmt.Errorf("%s: the server container sets command, replacing the image's entrypoint", d.file))
	}
	if len(ct.Args) == 0 || ct.Args[0] != "serve" {
		errs = append(errs, fmt.Errorf("%s: the server container's args %q do not run serve", d.file, ct.Args))
	}
	if env, err := c.environment(ct); err == nil && env["NOTIFYQL_ENV"] == "development" {
		errs = append(errs, fmt.Errorf("%s: NOTIFYQL_ENV is development, which turns on introspection and debug logs", d.file))
	}
	type pod struct {
		file string
		spec podSpec
	}
	pods := []pod{{d.file, d.object.Spec.Template.Spec}}
	for _, j := range c.jobs {
		pods = append(pods, pod{j.file, j.object.Spec.Template.Spec})
		for _, jc := range j.object.Spec.Template.Spec.Containers {
			if jc.Image != ct.Image {
				errs = append(errs, fmt.Errorf("%s: the Job runs image %s, the Deployment %s: a migration must come from the server it is for", j.file, jc.Image, ct.Image))
			}
			if len(jc.Command) > 0 || len(jc.Args) < 2 || jc.Args[0] != "migrate" || jc.Args[1] != "up" {
				errs = append(errs, fmt.Errorf("%s: the Job's container does not run `migrate up` through the image's entrypoint", j.file))
			}
		}
	}
	for _, p := range pods {
		sc := p.spec.SecurityContext
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			errs = append(errs, fmt.Errorf("%s: runAsNonRoot is not set", p.file))
		}
		if sc.RunAsUser != nil && *sc.RunAsUser != uid {
			errs = append(errs, fmt.Errorf("%s: runAsUser %d is not the image's user %d, whose home holds the cache folder", p.file, *sc.RunAsUser, uid))
		}
		for _, pc := range p.spec.Containers {
			if _, err := c.environment(pc); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.file, err))
			}
			if e := pc.SecurityContext.AllowPrivilegeEscalation; e == nil || *e {
				errs = append(errs, fmt.Errorf("%s: container %s allows privilege escalation", p.file, pc.Name))
			}
			if ro := pc.SecurityContext.ReadOnlyRootFilesystem; ro != nil && *ro && pc.Name == ct.Name && p.file == d.file {
				mounted := slices.ContainsFunc(pc.VolumeMounts, func(m volumeMount) bool {
					return strings.TrimSuffix(m.MountPath, "/") == imageCacheDir
				})
				if !mounted {
					errs = append(errs, fmt.Errorf("%s: the root file system is read-only and nothing is mounted at %s: PDFium could not keep its compiled module, and letter previews would fail", p.file, imageCacheDir))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// checkKustomization checks that the kustomization applies files that exist, among them
// every one that holds a server object.
func checkKustomization(c *cluster) error {
	k, err := only(c.kustomizations, "Kustomization")
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range k.object.Resources {
		if !slices.Contains(c.files, r) {
			errs = append(errs, fmt.Errorf("%s lists %s, which does not exist", k.file, r))
		}
	}
	var needed []string
	for _, d := range c.deployments {
		needed = append(needed, d.file)
	}
	for _, s := range c.services {
		needed = append(needed, s.file)
	}
	for _, b := range c.budgets {
		needed = append(needed, b.file)
	}
	for _, h := range c.autoscalers {
		needed = append(needed, h.file)
	}
	for _, p := range c.policies {
		needed = append(needed, p.file)
	}
	for _, m := range c.configMaps {
		needed = append(needed, m.file)
	}
	for _, file := range needed {
		if !slices.Contains(k.object.Resources, file) {
			errs = append(errs, fmt.Errorf("%s does not list %s", k.file, file))
		}
	}
	return errors.Join(errs...)
}

// clusterVariables are the variables the manifests give a container: ConfigMap and Secret
// keys and env entries.
func clusterVariables(c *cluster) []namedVariable {
	var named []namedVariable
	for _, m := range c.configMaps {
		for k := range m.object.Data {
			named = append(named, namedVariable{k, m.file + ": ConfigMap " + m.object.Metadata.Name})
		}
	}
	for _, s := range c.secrets {
		for k := range s.object.Data {
			named = append(named, namedVariable{k, s.file + ": Secret " + s.object.Metadata.Name})
		}
		for k := range s.object.StringData {
			named = append(named, namedVariable{k, s.file + ": Secret " + s.object.Metadata.Name})
		}
	}
	containers := func(file string, spec podSpec) {
		for _, ct := range spec.Containers {
			for _, e := range ct.Env {
				named = append(named, namedVariable{e.Name, file + ": container " + ct.Name})
			}
		}
	}
	for _, d := range c.deployments {
		containers(d.file, d.object.Spec.Template.Spec)
	}
	for _, j := range c.jobs {
		containers(j.file, j.object.Spec.Template.Spec)
	}
	return named
}
