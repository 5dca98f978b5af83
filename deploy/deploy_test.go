package deploy

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"notifyql/server"
)

// The deployment's files, by their path under deploy/.
const (
	dockerfilePath = "Dockerfile"
	unitPath       = "systemd/notifyql.service"
	envFilePath    = "systemd/notifyql.env"
	kubernetesDir  = "kubernetes"
)

// readDeployFiles reads the deployment's files as text, so that tests can break copies.
func readDeployFiles(tb testing.TB) map[string]string {
	tb.Helper()
	files := map[string]string{}
	for _, path := range []string{dockerfilePath, unitPath, envFilePath} {
		content, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		files[path] = string(content)
	}
	manifests, err := readManifests(kubernetesDir)
	if err != nil {
		tb.Fatal(err)
	}
	for name, content := range manifests {
		files[kubernetesDir+"/"+name] = string(content)
	}
	return files
}

// mustFacts reads what the files are checked against: the README's configuration table,
// the variables cmd/notifyql reads, go.mod, and the real server.
func mustFacts(tb testing.TB) (facts, string) {
	tb.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		tb.Fatal(err)
	}
	table, err := readmeTable(readme)
	if err != nil {
		tb.Fatal(err)
	}
	code, err := configurationNames("../cmd/notifyql")
	if err != nil {
		tb.Fatal(err)
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		tb.Fatal(err)
	}
	return facts{readme: table, code: code, shutdown: server.DefaultShutdownTimeout, ask: askServer}, string(gomod)
}

// parsed are the deployment's files, read.
type parsed struct {
	cluster      *cluster
	stages       []stage
	unit         unitFile
	env          map[string]string
	envFileNames []namedVariable
}

func parseFiles(files map[string]string) (parsed, error) {
	var p parsed
	var errs []error
	manifests := map[string][]byte{}
	for path, content := range files {
		if name, ok := strings.CutPrefix(path, kubernetesDir+"/"); ok {
			manifests[name] = []byte(content)
		}
	}
	var err error
	if p.cluster, err = parseCluster(manifests); err != nil {
		errs = append(errs, err)
	}
	if p.stages, err = parseDockerfile(files[dockerfilePath]); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", dockerfilePath, err))
	}
	if p.unit, err = parseUnit(files[unitPath]); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", unitPath, err))
	}
	p.env, p.envFileNames = parseEnvFile(envFilePath, files[envFilePath])
	return p, errors.Join(errs...)
}

// checks are every check of the deployment's files, by name.
var checks = map[string]func(p parsed, f facts, gomod string) error{
	"probes":        func(p parsed, f facts, _ string) error { return checkProbes(p.cluster, f) },
	"drain":         func(p parsed, f facts, _ string) error { return checkDrain(p.cluster, f) },
	"selectors":     func(p parsed, _ facts, _ string) error { return checkSelectors(p.cluster) },
	"scaling":       func(p parsed, _ facts, _ string) error { return checkScaling(p.cluster) },
	"metrics":       func(p parsed, f facts, _ string) error { return checkMetricsStayInternal(p.cluster, f) },
	"kustomization": func(p parsed, _ facts, _ string) error { return checkKustomization(p.cluster) },
	"containers": func(p parsed, _ facts, _ string) error {
		uid, err := imageUser(p.stages)
		if err != nil {
			return err
		}
		return checkContainers(p.cluster, uid)
	},
	"dockerfile": func(p parsed, f facts, gomod string) error {
		addr := ""
		for _, in := range p.stages[len(p.stages)-1].instructions {
			if v, ok := strings.CutPrefix(in.args, "NOTIFYQL_ADDR="); in.command == "ENV" && ok {
				addr = v
			}
		}
		if addr == "" {
			var err error
			if addr, err = readmeDefault(f.readme, "NOTIFYQL_ADDR"); err != nil {
				return err
			}
		}
		_, port, err := hostPort(addr)
		if err != nil {
			return err
		}
		return checkDockerfile(p.stages, gomod, port)
	},
	"systemd": func(p parsed, f facts, _ string) error {
		drainDefault, err := readmeDefault(f.readme, "NOTIFYQL_DRAIN_DELAY")
		if err != nil {
			return err
		}
		return checkSystemdUnit(p.unit, filepath.Base(envFilePath), p.env, drainDefault, f.shutdown)
	},
	"variables": func(p parsed, f facts, _ string) error {
		named := clusterVariables(p.cluster)
		named = append(named, p.envFileNames...)
		named = append(named, unitVariables(unitPath, p.unit)...)
		named = append(named, dockerfileVariables(p.stages)...)
		return checkVariablesAreConfiguration(named, f.readme, f.code)
	},
}

// The shipped files pass every check.
func TestDeploymentFilesPassEveryCheck(t *testing.T) {
	f, gomod := mustFacts(t)
	p, err := parseFiles(readDeployFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, check := range checks {
		t.Run(name, func(t *testing.T) {
			if err := check(p, f, gomod); err != nil {
				t.Error(err)
			}
		})
	}
}

// brokenFile is a mistake made in a copy of a shipped file: old replaced by new.
type brokenFile struct {
	name, check, file, old, new string
	// want is a part of the error the check should give.
	want string
}

// Each check fails on a copy of the shipped files with one mistake in it: a check that
// cannot fail shows nothing.
func TestChecksCatchBrokenFiles(t *testing.T) {
	f, gomod := mustFacts(t)
	shipped := readDeployFiles(t)
	const (
		deployment = kubernetesDir + "/deployment.yaml"
		configmap  = kubernetesDir + "/configmap.yaml"
		svc        = kubernetesDir + "/service.yaml"
		pdb        = kubernetesDir + "/pdb.yaml"
		hpa        = kubernetesDir + "/hpa.yaml"
		policy     = kubernetesDir + "/networkpolicy.yaml"
		migrate    = kubernetesDir + "/migrate-job.yaml"
		kustomize  = kubernetesDir + "/kustomization.yaml"
		secretFile = kubernetesDir + "/secret.example.yaml"
	)
	// secondEdits are the mistakes that take two edits of one file, by case name.
	secondEdits := map[string][2]string{
		"metrics beside the API": {`  NOTIFYQL_METRICS_ADDR: ":9090"` + "\n", ""},
	}
	readiness := "readinessProbe:\n            httpGet:\n              path: /readyz\n              port: http"
	liveness := "livenessProbe:\n            httpGet:\n              path: /healthz"
	metricsPeer := "        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: monitoring\n          podSelector:\n            matchLabels:\n              app.kubernetes.io/name: prometheus\n"
	serviceSelector := "  selector:\n    app.kubernetes.io/name: notifyql\n    app.kubernetes.io/component: api\n  ports:"
	cases := []brokenFile{
		// The manifests must parse, as objects the checks know.
		{"unknown kind", "parse", svc, "kind: Service", "kind: Ingress", "not one the checks know"},
		{"duplicate key", "parse", configmap, "  NOTIFYQL_ENV: production\n", "  NOTIFYQL_ENV: production\n  NOTIFYQL_ENV: development\n", "configmap.yaml"},

		// Probes, against the real server's routes and drain.
		{"readiness on a missing route", "probes", deployment, readiness, strings.Replace(readiness, "/readyz", "/ready", 1), "404"},
		{"readiness on a route that stays ready while draining", "probes", deployment, readiness, strings.Replace(readiness, "/readyz", "/healthz", 1), "while the server drains"},
		{"liveness on a route that fails while draining", "probes", deployment, liveness, strings.Replace(liveness, "/healthz", "/readyz", 1), "kill a pod"},
		{"readiness on the metrics port", "probes", deployment, readiness, strings.Replace(readiness, "port: http", "port: metrics", 1), "not the container port"},
		{"server listens elsewhere", "probes", configmap, `NOTIFYQL_ADDR: ":8080"`, `NOTIFYQL_ADDR: ":8081"`, "not the container port"},
		{"no readiness probe", "probes", deployment, "          readinessProbe:", "          readinessGate:", "no readinessProbe"},

		// The drain delay, the preStop sleep and the grace period.
		{"preStop shorter than the drain delay", "drain", deployment, "seconds: 5", "seconds: 3", "should match"},
		{"drain delay longer than the preStop", "drain", configmap, "NOTIFYQL_DRAIN_DELAY: 5s", "NOTIFYQL_DRAIN_DELAY: 8s", "should match"},
		{"grace period too short", "drain", deployment, "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds: 24", "terminationGracePeriodSeconds is 24s"},
		{"preStop by a command", "drain", deployment, "              sleep:\n                seconds: 5", "              exec:\n                command: [sleep, \"5\"]", "runs a command"},
		{"no preStop", "drain", deployment, "            preStop:\n              sleep:\n                seconds: 5\n", "            postStart:\n              sleep:\n                seconds: 5\n", "no preStop sleep"},

		// Selectors and the autoscaler's target.
		{"Service selects other pods", "selectors", svc, serviceSelector, strings.Replace(serviceSelector, "component: api", "component: web", 1), "Service notifyql selects"},
		{"Service targets a missing port", "selectors", svc, "targetPort: http", "targetPort: web", "no port of the server container"},
		{"budget selects other pods", "selectors", pdb, "      app.kubernetes.io/component: api", "      app.kubernetes.io/component: worker", "PodDisruptionBudget"},
		{"policy selects other pods", "selectors", policy, "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: notifyql", "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: notify", "NetworkPolicy"},
		{"policy selects every pod", "selectors", policy, "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: notifyql\n      app.kubernetes.io/component: api\n", "  podSelector: {}\n", "empty selector"},
		{"autoscaler scales another Deployment", "selectors", hpa, "    name: notifyql", "    name: notifyql-api", "not the Deployment"},
		{"Deployment selector misses its pods", "selectors", deployment, "    matchLabels:\n      app.kubernetes.io/name: notifyql\n      app.kubernetes.io/component: api\n  strategy", "    matchLabels:\n      app.kubernetes.io/name: notifyql\n      app.kubernetes.io/component: server\n  strategy", "the Deployment selects"},
		{"migration pods look like servers", "selectors", migrate, "        app.kubernetes.io/component: migrate", "        app.kubernetes.io/component: api", "Job's pods"},

		// The autoscaler and the budget.
		{"replicas beside the autoscaler", "scaling", deployment, "  revisionHistoryLimit: 5", "  replicas: 3\n  revisionHistoryLimit: 5", "sets replicas"},
		{"one pod at least", "scaling", hpa, "minReplicas: 2", "minReplicas: 1", "minReplicas 1"},
		{"scaling on memory", "scaling", hpa, "        name: cpu", "        name: memory", "no CPU utilisation target"},
		{"no CPU request", "scaling", deployment, "              cpu: \"1\"\n", "", "requests no CPU"},
		{"budget lets nothing go", "scaling", pdb, "maxUnavailable: 1", "maxUnavailable: 0", "lets no drain"},
		{"budget keeps every pod", "scaling", pdb, "maxUnavailable: 1", "minAvailable: 2", "may leave no pod"},

		// /metrics stays internal.
		{"metrics beside the API", "metrics", configmap, "NOTIFYQL_ENV: production", "NOTIFYQL_ENV: development", "answers /metrics with 200 OK"},
		{"metrics on the loopback", "metrics", configmap, `NOTIFYQL_METRICS_ADDR: ":9090"`, `NOTIFYQL_METRICS_ADDR: ""`, "loopback"},
		{"metrics on an undeclared port", "metrics", configmap, `NOTIFYQL_METRICS_ADDR: ":9090"`, `NOTIFYQL_METRICS_ADDR: ":9100"`, "no port of the server container"},
		{"metrics open to every namespace", "metrics", policy, metricsPeer, "        - namespaceSelector: {}\n", "every pod of every namespace"},
		{"metrics open to every address", "metrics", policy, metricsPeer, "        - ipBlock:\n            cidr: 0.0.0.0/0\n", "every address"},
		{"metrics open from anywhere", "metrics", policy, "    - from:\n" + metricsPeer + "      ports:\n        - port: metrics", "    - ports:\n        - port: metrics", "from anywhere"},
		{"Service publishes metrics", "metrics", svc, "      targetPort: http\n      protocol: TCP\n", "      targetPort: http\n      protocol: TCP\n    - name: metrics\n      port: 9090\n      targetPort: metrics\n", "publishes the metrics port"},
		{"scrape annotation on the wrong port", "metrics", deployment, `prometheus.io/port: "9090"`, `prometheus.io/port: "8080"`, "annotation"},
		{"API port closed", "metrics", policy, "        - port: http", "        - port: 8081", "no ingress rule admits the API's port"},

		// The containers.
		{"the server does not serve", "containers", deployment, `args: ["serve"]`, `args: ["migrate", "up"]`, "do not run serve"},
		{"command replaces the entrypoint", "containers", deployment, `args: ["serve"]`, `command: ["/usr/local/bin/notifyql", "serve"]`, "sets command"},
		{"migration from another image", "containers", migrate, "image: registry.example.com/notifyql:1.0.0", "image: registry.example.com/notifyql:0.9.0", "a migration must come from"},
		{"another user than the image's", "containers", deployment, "runAsUser: 65532", "runAsUser: 1000", "not the image's user"},
		{"development", "containers", configmap, "NOTIFYQL_ENV: production", "NOTIFYQL_ENV: development", "introspection"},
		{"root allowed", "containers", deployment, "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
		{"privilege escalation", "containers", migrate, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "privilege escalation"},
		{"no writable cache", "containers", deployment, "mountPath: /home/nonroot/.cache", "mountPath: /cache", "letter previews would fail"},
		{"missing Secret", "containers", deployment, "            - secretRef:\n                name: notifyql", "            - secretRef:\n                name: notifyql-secrets", "no manifest shows"},

		{"kustomization misses a file", "kustomization", kustomize, "  - hpa.yaml\n", "", "does not list hpa.yaml"},
		{"kustomization lists a missing file", "kustomization", kustomize, "  - hpa.yaml\n", "  - hpa.yaml\n  - ingress.yaml\n", "ingress.yaml, which does not exist"},

		// Every variable named is configuration.
		{"misspelt ConfigMap key", "variables", configmap, "NOTIFYQL_DRAIN_DELAY:", "NOTIFYQL_DRAIN_DELAYS:", "NOTIFYQL_DRAIN_DELAYS, which is not in the README"},
		{"misspelt Secret key", "variables", secretFile, "REDIS_URL:", "REDIS_ADDR:", "REDIS_ADDR"},
		{"misspelt suggestion", "variables", envFilePath, "#NOTIFYQL_TRUSTED_PROXIES=", "#NOTIFYQL_TRUSTED_PROXY=", "NOTIFYQL_TRUSTED_PROXY"},
		{"unknown variable in the unit", "variables", unitPath, "Type=exec", "Type=exec\nEnvironment=NOTIFYQL_PORT=8080", "NOTIFYQL_PORT"},
		{"unknown variable in the image", "variables", dockerfilePath, "EXPOSE 8080", "ENV NOTIFYQL_LISTEN=:8080\nEXPOSE 8080", "NOTIFYQL_LISTEN"},
		{"unknown variable in a container", "variables", migrate, "          envFrom:", "          env:\n            - name: NOTIFYQL_MIGRATE_TIMEOUT\n              value: 5m\n          envFrom:", "NOTIFYQL_MIGRATE_TIMEOUT"},

		// The Dockerfile.
		{"one stage", "dockerfile", dockerfilePath, "FROM gcr.io/distroless/static-debian12:nonroot\n", "", "multi-stage"},
		{"a base with a shell", "dockerfile", dockerfilePath, "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:bookworm-slim", "not a distroless static base"},
		{"an unpinned base", "dockerfile", dockerfilePath, "FROM gcr.io/distroless/static-debian12:nonroot", "FROM gcr.io/distroless/static-debian12", "not pinned"},
		{"the latest base", "dockerfile", dockerfilePath, "FROM gcr.io/distroless/static-debian12:nonroot", "FROM gcr.io/distroless/static-debian12:latest", "not pinned"},
		{"root user", "dockerfile", dockerfilePath, "USER 65532:65532", "USER 0", "root"},
		{"named root user", "dockerfile", dockerfilePath, "USER 65532:65532", "USER root", "not a numeric uid"},
		{"no user", "dockerfile", dockerfilePath, "USER 65532:65532\n", "", "no USER"},
		{"cgo on", "dockerfile", dockerfilePath, "CGO_ENABLED=0 go build", "go build", "without CGO_ENABLED=0"},
		{"ADD of a URL", "dockerfile", dockerfilePath, "COPY . .", "COPY . .\nADD https://example.com/tool.tar.gz /tmp/", "ADD of a URL"},
		{"shell-form entrypoint", "dockerfile", dockerfilePath, `ENTRYPOINT ["/usr/local/bin/notifyql"]`, "ENTRYPOINT /usr/local/bin/notifyql", "shell form"},
		{"shell-form command", "dockerfile", dockerfilePath, `CMD ["serve"]`, "CMD serve", "shell form"},
		{"RUN in the final stage", "dockerfile", dockerfilePath, "USER 65532:65532", "RUN mkdir /data\nUSER 65532:65532", "needs a shell"},
		{"a Go that only starts alike", "dockerfile", dockerfilePath, "FROM golang:1.26.8-bookworm AS build", "FROM golang:1.260-bookworm AS build", "go.mod asks for Go"},
		{"an older Go", "dockerfile", dockerfilePath, "FROM golang:1.26.8-bookworm AS build", "FROM golang:1.25.5-bookworm AS build", "go.mod asks for Go"},
		{"the wrong port", "dockerfile", dockerfilePath, "EXPOSE 8080", "EXPOSE 80", "does not EXPOSE 8080"},
		{"an entrypoint nothing copied", "dockerfile", dockerfilePath, `ENTRYPOINT ["/usr/local/bin/notifyql"]`, `ENTRYPOINT ["/notifyql"]`, "no COPY --from"},

		// The systemd unit and its environment file.
		{"stop timeout under the drain", "systemd", unitPath, "TimeoutStopSec=30s", "TimeoutStopSec=20s", "would kill serve while it drains"},
		{"drain longer than the stop timeout", "systemd", envFilePath, "NOTIFYQL_DRAIN_DELAY=10s", "NOTIFYQL_DRAIN_DELAY=20s", "would kill serve while it drains"},
		{"no stop timeout", "systemd", unitPath, "TimeoutStopSec=30s\n", "", "no TimeoutStopSec"},
		{"root", "systemd", unitPath, "User=notifyql", "User=root", "give it a User"},
		{"not serve", "systemd", unitPath, "ExecStart=/usr/local/bin/notifyql serve", "ExecStart=/usr/local/bin/notifyql migrate up", "does not run"},
		{"another environment file", "systemd", unitPath, "EnvironmentFile=/etc/notifyql/notifyql.env", "EnvironmentFile=/etc/notifyql/other.env", "no EnvironmentFile"},
		{"stopped by SIGKILL", "systemd", unitPath, "KillSignal=SIGTERM", "KillSignal=SIGKILL", "drains on SIGTERM"},
		{"few open files", "systemd", unitPath, "LimitNOFILE=1048576\n", "", "LimitNOFILE"},
		{"no executable memory", "systemd", unitPath, "NoNewPrivileges=yes", "NoNewPrivileges=yes\nMemoryDenyWriteExecute=yes", "PDFium"},
	}
	for name := range checks {
		if !slices.ContainsFunc(cases, func(tc brokenFile) bool { return tc.check == name }) {
			t.Errorf("no case breaks a file for the %s check: add one", name)
		}
	}
	for _, tc := range cases {
		t.Run(tc.check+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			files := maps.Clone(shipped)
			if n := strings.Count(files[tc.file], tc.old); n != 1 {
				t.Fatalf("%s holds %q %d times, want once: update this case", tc.file, tc.old, n)
			}
			files[tc.file] = strings.Replace(files[tc.file], tc.old, tc.new, 1)
			if also, ok := secondEdits[tc.name]; ok {
				if n := strings.Count(files[tc.file], also[0]); n != 1 {
					t.Fatalf("%s holds %q %d times, want once: update this case", tc.file, also[0], n)
				}
				files[tc.file] = strings.Replace(files[tc.file], also[0], also[1], 1)
			}
			p, err := parseFiles(files)
			if tc.check == "parse" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("parse error %v, want one mentioning %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = checks[tc.check](p, f, gomod)
			if err == nil {
				t.Fatalf("the %s check passes %s with %q instead of %q", tc.check, tc.file, tc.new, tc.old)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the %s check failed, but not as expected (want %q):\n%v", tc.check, tc.want, err)
			}
		})
	}
}
