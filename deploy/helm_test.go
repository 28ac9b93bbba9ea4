package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/yannh/kubeconform/pkg/resource"
	"github.com/yannh/kubeconform/pkg/validator"
	"sigs.k8s.io/yaml"
)

const chartDir = "helm/resetbot"

// helm is the pinned helm binary that make deps installs into .cache/helm (or HELM).
func helm(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HELM"), "../.cache/helm/helm"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	t.Fatal("helm is missing: make deps installs it into .cache/helm (or set HELM to a helm binary)")
	return ""
}

// offlineChart copies the chart without its Redis dependency: Bitnami's chart cannot be
// downloaded here, so CI lints and renders resetbot's own templates (with the values they would
// pass to it) and not the subchart's.
func offlineChart(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "resetbot")
	err := filepath.WalkDir(chartDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "Chart.yaml" {
			i := bytes.Index(b, []byte("\ndependencies:"))
			if i < 0 {
				return errors.New("Chart.yaml declares no dependencies")
			}
			b = b[:i+1]
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), stderr.String())
	}
	return out.String()
}

// The value sets CI renders: the defaults (Bitnami Redis, one primary with AOF), Sentinel, and
// an operator's own Redis with every option on and an existing Secret.
var valueSets = map[string][]string{
	"default": {"--set", "settings.PUBLIC_BASE_URL=https://resetbot.example.com",
		"--set", "secrets.values.SEAL_KEYS=k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"--set", "secrets.values.MAC_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
	"sentinel": {"-f", chartDir + "/values-sentinel.yaml", "--set", "settings.PUBLIC_BASE_URL=https://resetbot.example.com",
		"--set", "secrets.existingSecret=resetbot-keys"},
	"own-redis": {"--set", "redis.enabled=false", "--set", "settings.REDIS_URL=rediss://redis.example.com:6380/0",
		"--set", "settings.PUBLIC_BASE_URL=https://resetbot.example.com", "--set", "secrets.existingSecret=resetbot-keys",
		"--set", "secrets.existingSecretKeys={SEAL_KEYS,MAC_KEY,REDIS_PASSWORD,GRAPH_CLIENT_SECRET}",
		"--set", "ingress.enabled=true", "--set", "ingress.host=resetbot.example.com", "--set", "ingress.tls.secretName=resetbot-tls",
		"--set", "metrics.serviceMonitor.enabled=true", "--set", "networkPolicy.redisTo[0].ipBlock.cidr=10.1.2.0/24"},
}

type object = map[string]any

func render(t *testing.T, chart string, set []string) []object {
	t.Helper()
	args := append([]string{"template", "resetbot", chart, "--namespace", "sspr"}, set...)
	out := run(t, helm(t), args...)
	var objs []object
	for _, doc := range strings.Split(out, "\n---") {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

// kubeconform validates against the committed strict schemas only: a kind without a schema, or
// a field the schema does not know, fails.
func kubeconform(t *testing.T) validator.Validator {
	t.Helper()
	v, err := validator.New([]string{"schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json"}, validator.Opts{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func validate(v validator.Validator, o object) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	r := v.ValidateResource(resource.Resource{Path: fmt.Sprint(o["kind"]), Bytes: b})
	if r.Status != validator.Valid {
		return fmt.Errorf("%s %v: %s %v %v", o["kind"], dig(o, "metadata", "name"), statusName(r.Status), r.Err, r.ValidationErrors)
	}
	return nil
}

func statusName(s validator.Status) string {
	return map[validator.Status]string{validator.Invalid: "invalid", validator.Error: "error", validator.Skipped: "skipped", validator.Empty: "empty"}[s]
}

func dig(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := o.(map[string]any)
			o = m[k]
		case int:
			l, _ := o.([]any)
			if k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

func byKind(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

// helm lint passes (strict: warnings fail too) for every value set, and every rendered
// manifest passes kubeconform against the Kubernetes v1.34 schemas.
func TestChartLintsAndRendersValidManifests(t *testing.T) {
	chart := offlineChart(t)
	v := kubeconform(t)
	for name, set := range valueSets {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chart}, set...)
			if out := run(t, helm(t), args...); !strings.Contains(out, "0 chart(s) failed") {
				t.Fatalf("helm lint:\n%s", out)
			}
			objs := render(t, chart, set)
			if len(objs) < 7 {
				t.Fatalf("rendered only %d objects", len(objs))
			}
			for _, o := range objs {
				if err := validate(v, o); err != nil {
					t.Error(err)
				}
			}
		})
	}
	// helm lint of the real chart (with its dependency declared) passes too.
	if out := run(t, helm(t), "lint", chartDir); !strings.Contains(out, "0 chart(s) failed") {
		t.Fatalf("helm lint %s:\n%s", chartDir, out)
	}
}

// The validation is not vacuous: a misspelt field, a wrong type and an unknown kind are refused.
func TestKubeconformRefusesBrokenManifests(t *testing.T) {
	v := kubeconform(t)
	dep := byKind(render(t, offlineChart(t), valueSets["default"]), "Deployment")[0]
	for name, mutate := range map[string]func(object){
		"misspelt field": func(o object) {
			c := dig(o, "spec", "template", "spec", "containers", 0).(map[string]any)
			c["securityContex"] = c["securityContext"]
			delete(c, "securityContext")
		},
		"wrong type":   func(o object) { o["spec"].(map[string]any)["replicas"] = "two" },
		"unknown kind": func(o object) { o["kind"] = "Deploymnet" },
	} {
		b, _ := json.Marshal(dep)
		var o object
		_ = json.Unmarshal(b, &o)
		mutate(o)
		if validate(v, o) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// What the chart promises, read from the rendered manifests.
func TestChartDeploysTheBotAsPromised(t *testing.T) {
	chart := offlineChart(t)
	objs := render(t, chart, valueSets["own-redis"])
	deps := byKind(objs, "Deployment")
	if len(deps) != 1 {
		t.Fatalf("want one Deployment, got %d", len(deps))
	}
	d := deps[0]
	if r, _ := dig(d, "spec", "replicas").(float64); r < 2 {
		t.Errorf("replicas %v, want at least 2", r)
	}
	pod := dig(d, "spec", "template", "spec")
	c := dig(pod, "containers", 0)
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		if got := dig(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s on %v, want %s", probe, got, path)
		}
	}
	// the image's user (Dockerfile) is the pod's user, and the container is locked down
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindStringSubmatch(string(df))
	if m == nil {
		t.Fatal("the Dockerfile names no numeric USER uid:gid")
	}
	if fmt.Sprint(dig(pod, "securityContext", "runAsUser")) != m[1] || fmt.Sprint(dig(pod, "securityContext", "runAsGroup")) != m[2] ||
		dig(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("pod security context %v, want the image's user %s:%s, non-root", dig(pod, "securityContext"), m[1], m[2])
	}
	sc := dig(c, "securityContext")
	if dig(sc, "readOnlyRootFilesystem") != true || dig(sc, "allowPrivilegeEscalation") != false ||
		fmt.Sprint(dig(sc, "capabilities", "drop")) != "[ALL]" {
		t.Errorf("container security context %v", sc)
	}
	if dig(pod, "automountServiceAccountToken") != false {
		t.Error("the pod mounts a Kubernetes API token it does not need")
	}
	// resources from the measured memory
	if dig(c, "resources", "requests", "memory") != "128Mi" || dig(c, "resources", "limits", "memory") != "256Mi" {
		t.Errorf("resources %v", dig(c, "resources"))
	}
	// secrets arrive as files, never as values in the environment
	env := map[string]string{}
	for _, e := range dig(c, "env").([]any) {
		if val, ok := dig(e, "value").(string); ok {
			env[dig(e, "name").(string)] = val
		} else {
			t.Errorf("environment variable %v is not a plain value", dig(e, "name"))
		}
	}
	for _, k := range []string{"SEAL_KEYS", "MAC_KEY", "REDIS_PASSWORD", "GRAPH_CLIENT_SECRET"} {
		if env[k+"_FILE"] != "/etc/resetbot/secrets/"+k {
			t.Errorf("%s_FILE = %q", k, env[k+"_FILE"])
		}
	}
	if dig(pod, "volumes", 0, "secret", "secretName") != "resetbot-keys" {
		t.Errorf("secrets volume %v, want the existing Secret resetbot-keys", dig(pod, "volumes", 0))
	}
	cm := byKind(objs, "ConfigMap")[0]
	for k := range dig(cm, "data").(map[string]any) {
		if slices.Contains(secretSettings(t), k) {
			t.Errorf("secret setting %s in the ConfigMap", k)
		}
	}
	if dig(cm, "data", "REDIS_URL") != "rediss://redis.example.com:6380/0" || dig(cm, "data", "METRICS_ADDR") != ":9090" {
		t.Errorf("ConfigMap %v", dig(cm, "data"))
	}
	if len(byKind(objs, "Secret")) != 0 {
		t.Error("a Secret is rendered although an existing one is named")
	}
	// the rest of the promise: Ingress, a separate metrics Service, ServiceMonitor, PDB, NetworkPolicy
	for kind, n := range map[string]int{"Ingress": 1, "Service": 2, "ServiceMonitor": 1, "PodDisruptionBudget": 1, "NetworkPolicy": 1} {
		if got := len(byKind(objs, kind)); got != n {
			t.Errorf("%d %s, want %d", got, kind, n)
		}
	}
	np := byKind(objs, "NetworkPolicy")[0]
	if fmt.Sprint(dig(np, "spec", "policyTypes")) != "[Ingress Egress]" {
		t.Errorf("NetworkPolicy %v", dig(np, "spec", "policyTypes"))
	}
	if dig(np, "spec", "egress", 1, "to", 0, "ipBlock", "cidr") != "10.1.2.0/24" {
		t.Errorf("Redis egress %v", dig(np, "spec", "egress", 1))
	}
	if dig(byKind(objs, "PodDisruptionBudget")[0], "spec", "minAvailable") != float64(1) {
		t.Error("the PodDisruptionBudget does not keep a replica")
	}
}

// With Sentinel the bot is pointed at the sentinels and the master set; by default at the
// primary; the chart's Redis password comes from Bitnami's Secret, as a file.
func TestChartPointsTheBotAtItsRedis(t *testing.T) {
	chart := offlineChart(t)
	for name, want := range map[string]map[string]any{
		"sentinel": {"REDIS_ADDRS": "resetbot-redis:26379", "REDIS_MASTER_NAME": "mymaster", "REDIS_URL": nil},
		"default":  {"REDIS_URL": "redis://resetbot-redis-master:6379/0", "REDIS_ADDRS": nil},
	} {
		objs := render(t, chart, valueSets[name])
		data := dig(byKind(objs, "ConfigMap")[0], "data")
		for k, v := range want {
			if dig(data, k) != v {
				t.Errorf("%s: %s = %v, want %v", name, k, dig(data, k), v)
			}
		}
		pod := dig(byKind(objs, "Deployment")[0], "spec", "template", "spec")
		if !strings.Contains(fmt.Sprint(dig(pod, "volumes")), "secretName:resetbot-redis") {
			t.Errorf("%s: the Redis password is not mounted from Bitnami's Secret: %v", name, dig(pod, "volumes"))
		}
		egress := fmt.Sprint(dig(byKind(objs, "NetworkPolicy")[0], "spec", "egress", 1))
		if !strings.Contains(egress, "app.kubernetes.io/name:redis") || strings.Contains(egress, "26379") != (name == "sentinel") {
			t.Errorf("%s: Redis egress %s", name, egress)
		}
	}
	// the values that make Bitnami's Redis keep every write (AOF) and run Sentinel
	var vals, sentinel object
	readYAML(t, chartDir+"/values.yaml", &vals)
	readYAML(t, chartDir+"/values-sentinel.yaml", &sentinel)
	conf := fmt.Sprint(dig(vals, "redis", "commonConfiguration"))
	if !strings.Contains(conf, "appendonly yes") || !strings.Contains(conf, "appendfsync always") {
		t.Errorf("Bitnami Redis without AOF: %q", conf)
	}
	if dig(sentinel, "redis", "sentinel", "enabled") != true || dig(sentinel, "redis", "architecture") != "replication" {
		t.Errorf("values-sentinel.yaml: %v", sentinel)
	}
	// a misconfiguration is refused at render time, not at start-up
	cmd := exec.Command(helm(t), "template", "resetbot", chart, "--set", "redis.enabled=false")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "needs settings.REDIS_URL or settings.REDIS_ADDRS") {
		t.Errorf("no Redis at all was rendered: %v\n%s", err, out)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
