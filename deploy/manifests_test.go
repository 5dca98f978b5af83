package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/goccy/go-yaml"
)

// The Kubernetes objects the manifests hold, as far as the checks read them. Fields the
// checks do not read are ignored.

type metadata struct {
	Name         string            `yaml:"name"`
	GenerateName string            `yaml:"generateName"`
	Labels       map[string]string `yaml:"labels"`
	Annotations  map[string]string `yaml:"annotations"`
}

type labelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []any             `yaml:"matchExpressions"`
}

type podTemplate struct {
	Metadata metadata `yaml:"metadata"`
	Spec     podSpec  `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    *int  `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	TopologySpreadConstraints []struct {
		LabelSelector labelSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name     string `yaml:"name"`
		EmptyDir any    `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	StartupProbe   *probe `yaml:"startupProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Lifecycle      struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
			Exec    any `yaml:"exec"`
			HTTPGet any `yaml:"httpGet"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	} `yaml:"securityContext"`
	VolumeMounts []volumeMount `yaml:"volumeMounts"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		// Port is a number or the name of a container port.
		Port any `yaml:"port"`
	} `yaml:"httpGet"`
}

type deployment struct {
	Metadata metadata `yaml:"metadata"`
	Spec     struct {
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Template podTemplate   `yaml:"template"`
	} `yaml:"spec"`
}

type job struct {
	Metadata metadata `yaml:"metadata"`
	Spec     struct {
		Template podTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	Metadata metadata `yaml:"metadata"`
	Spec     struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type podDisruptionBudget struct {
	Metadata metadata `yaml:"metadata"`
	Spec     struct {
		MaxUnavailable any           `yaml:"maxUnavailable"`
		MinAvailable   any           `yaml:"minAvailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type horizontalPodAutoscaler struct {
	Metadata metadata `yaml:"metadata"`
	Spec     struct {
		ScaleTargetRef struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Name       string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas *int               `yaml:"minReplicas"`
		MaxReplicas int                `yaml:"maxReplicas"`
		Metrics     []autoscalerMetric `yaml:"metrics"`
	} `yaml:"spec"`
}

type autoscalerMetric struct {
	Type     string `yaml:"type"`
	Resource *struct {
		Name   string `yaml:"name"`
		Target struct {
			Type               string `yaml:"type"`
			AverageUtilization *int   `yaml:"averageUtilization"`
		} `yaml:"target"`
	} `yaml:"resource"`
}

type networkPolicy struct {
	Metadata metadata `yaml:"metadata"`
	Spec     struct {
		PodSelector labelSelector `yaml:"podSelector"`
		PolicyTypes []string      `yaml:"policyTypes"`
		Ingress     []struct {
			From  []networkPeer `yaml:"from"`
			Ports []struct {
				Port     any    `yaml:"port"`
				EndPort  *int   `yaml:"endPort"`
				Protocol string `yaml:"protocol"`
			} `yaml:"ports"`
		} `yaml:"ingress"`
	} `yaml:"spec"`
}

type networkPeer struct {
	PodSelector       *labelSelector `yaml:"podSelector"`
	NamespaceSelector *labelSelector `yaml:"namespaceSelector"`
	IPBlock           *struct {
		CIDR string `yaml:"cidr"`
	} `yaml:"ipBlock"`
}

type configMap struct {
	Metadata metadata          `yaml:"metadata"`
	Data     map[string]string `yaml:"data"`
}

type secret struct {
	Metadata   metadata          `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

type kustomization struct {
	Namespace string   `yaml:"namespace"`
	Resources []string `yaml:"resources"`
}

// cluster is every object of the Kubernetes manifests, by kind, each with the file it came
// from.
type cluster struct {
	deployments    []located[deployment]
	jobs           []located[job]
	services       []located[service]
	budgets        []located[podDisruptionBudget]
	autoscalers    []located[horizontalPodAutoscaler]
	policies       []located[networkPolicy]
	configMaps     []located[configMap]
	secrets        []located[secret]
	kustomizations []located[kustomization]
	// files are the names of the files read.
	files []string
}

type located[T any] struct {
	file   string
	object T
}

// readManifests reads every *.yaml file of dir.
func readManifests(dir string) (map[string][]byte, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no manifests in %s", dir)
	}
	files := make(map[string][]byte, len(paths))
	for _, path := range paths {
		content, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		files[filepath.Base(path)] = content
	}
	return files, nil
}

// parseCluster parses the manifests, by file name. Every document must be of a kind the
// checks know, so that nothing a file adds goes unchecked.
func parseCluster(files map[string][]byte) (*cluster, error) {
	c := &cluster{}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(files)) {
		c.files = append(c.files, name)
		dec := yaml.NewDecoder(bytes.NewReader(files[name]))
		for doc := 1; ; doc++ {
			var raw map[string]any
			err := dec.Decode(&raw)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				break
			}
			if raw == nil {
				continue
			}
			if err := c.add(name, raw); err != nil {
				errs = append(errs, fmt.Errorf("%s, document %d: %w", name, doc, err))
			}
		}
	}
	return c, errors.Join(errs...)
}

// add decodes one document into the list of its kind.
func (c *cluster) add(file string, raw map[string]any) error {
	text, err := yaml.Marshal(raw)
	if err != nil {
		return err
	}
	kind := fmt.Sprint(raw["apiVersion"], " ", raw["kind"])
	switch kind {
	case "apps/v1 Deployment":
		return addTo(&c.deployments, file, text)
	case "batch/v1 Job":
		return addTo(&c.jobs, file, text)
	case "v1 Service":
		return addTo(&c.services, file, text)
	case "policy/v1 PodDisruptionBudget":
		return addTo(&c.budgets, file, text)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return addTo(&c.autoscalers, file, text)
	case "networking.k8s.io/v1 NetworkPolicy":
		return addTo(&c.policies, file, text)
	case "v1 ConfigMap":
		return addTo(&c.configMaps, file, text)
	case "v1 Secret":
		return addTo(&c.secrets, file, text)
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return addTo(&c.kustomizations, file, text)
	}
	return fmt.Errorf("kind %q is not one the checks know: teach deploy_test.go what to check in it", kind)
}

func addTo[T any](list *[]located[T], file string, text []byte) error {
	var object T
	if err := yaml.Unmarshal(text, &object); err != nil {
		return err
	}
	*list = append(*list, located[T]{file: file, object: object})
	return nil
}

// only returns the one object of a kind, or an error naming the kind.
func only[T any](list []located[T], kind string) (located[T], error) {
	if len(list) != 1 {
		return located[T]{}, fmt.Errorf("want exactly one %s in the manifests, found %d", kind, len(list))
	}
	return list[0], nil
}

// selects reports whether selector picks a pod with these labels: every label it names,
// with its value. An empty selector is refused by the checks before this is asked.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// portOf resolves a probe's, Service's or policy's port, a number or a container port's
// name, against a container's ports; 0 when it names none of them.
func portOf(port any, c container) int {
	switch p := port.(type) {
	case string:
		if n, err := strconv.Atoi(p); err == nil {
			return portOf(n, c)
		}
		for _, cp := range c.Ports {
			if cp.Name == p {
				return cp.ContainerPort
			}
		}
	default:
		n, err := strconv.Atoi(fmt.Sprint(p))
		if err != nil {
			return 0
		}
		for _, cp := range c.Ports {
			if cp.ContainerPort == n {
				return n
			}
		}
	}
	return 0
}

// environment is what a container's process sees: its ConfigMaps' and Secrets' keys
// (envFrom), then its own env entries.
func (c *cluster) environment(ct container) (map[string]string, error) {
	env := map[string]string{}
	var errs []error
	for _, from := range ct.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			i := slices.IndexFunc(c.configMaps, func(m located[configMap]) bool { return m.object.Metadata.Name == from.ConfigMapRef.Name })
			if i < 0 {
				errs = append(errs, fmt.Errorf("container %s reads ConfigMap %q, which no manifest defines", ct.Name, from.ConfigMapRef.Name))
				continue
			}
			maps.Copy(env, c.configMaps[i].object.Data)
		case from.SecretRef != nil:
			i := slices.IndexFunc(c.secrets, func(s located[secret]) bool { return s.object.Metadata.Name == from.SecretRef.Name })
			if i < 0 {
				errs = append(errs, fmt.Errorf("container %s reads Secret %q, which no manifest shows", ct.Name, from.SecretRef.Name))
				continue
			}
			for k := range c.secrets[i].object.Data {
				env[k] = "(secret)"
			}
			maps.Copy(env, c.secrets[i].object.StringData)
		}
	}
	for _, e := range ct.Env {
		env[e.Name] = e.Value
	}
	return env, errors.Join(errs...)
}

// servingContainer is the Deployment's container that runs serve.
func (c *cluster) servingContainer() (located[deployment], container, error) {
	d, err := only(c.deployments, "Deployment")
	if err != nil {
		return d, container{}, err
	}
	containers := d.object.Spec.Template.Spec.Containers
	if len(containers) != 1 {
		return d, container{}, fmt.Errorf("%s: want one container, the server, found %d", d.file, len(containers))
	}
	return d, containers[0], nil
}

// listening is the server container and where its settings make it listen.
type listening struct {
	deployment           located[deployment]
	container            container
	env                  map[string]string
	apiAddr, metricsAddr string
	apiPort              int
}

// listeners reads the server container's environment for its listen addresses.
func (c *cluster) listeners(f facts) (listening, error) {
	d, ct, err := c.servingContainer()
	if err != nil {
		return listening{}, err
	}
	env, err := c.environment(ct)
	if err != nil {
		return listening{}, err
	}
	apiAddr, metricsAddr, err := f.listenAddrs(env)
	if err != nil {
		return listening{}, err
	}
	_, apiPort, err := hostPort(apiAddr)
	if err != nil {
		return listening{}, fmt.Errorf("NOTIFYQL_ADDR: %w", err)
	}
	return listening{deployment: d, container: ct, env: env, apiAddr: apiAddr, metricsAddr: metricsAddr, apiPort: apiPort}, nil
}

// hostPort splits a listen address such as ":8080" into its host and port.
func hostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("%q has no port number", addr)
	}
	return host, n, nil
}
