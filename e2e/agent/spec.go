package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ContainerSpec is what `e2e-agent exec-container` needs to enter the container and exec it.
type ContainerSpec struct {
	Root     string   `json:"root"`
	PodEtc   string   `json:"podEtc"`
	Mounts   []Mount  `json:"mounts"`
	Env      []string `json:"env"`
	Argv     []string `json:"argv"`
	WorkDir  string   `json:"workDir"`
	SetUser  bool     `json:"setUser"`
	UID      uint32   `json:"uid"`
	GID      uint32   `json:"gid"`
	Groups   []uint32 `json:"groups"`
	Hostname string   `json:"hostname"`
}

// Mount is a bind mount of Src (host path) at Dst (container path).
type Mount struct {
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	ReadOnly bool   `json:"readOnly"`
}

func imageRepo(image string) string {
	name := image
	if i := strings.LastIndex(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	for _, p := range []string{"docker.io/library/", "docker.io/", "ghcr.io/", "quay.io/"} {
		name = strings.TrimPrefix(name, p)
	}
	return name
}

// user: the uid/gid the container runs as (container securityContext over the pod's).
func (r *podRunner) user(c *corev1.Container) (uint32, uint32, bool) {
	p, _ := r.snapshot()
	var uid, gid *int64
	if sc := p.Spec.SecurityContext; sc != nil {
		uid, gid = sc.RunAsUser, sc.RunAsGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
	}
	if uid == nil {
		return 0, 0, false
	}
	g := *uid
	if gid != nil {
		g = *gid
	}
	return uint32(*uid), uint32(g), true
}

func (r *podRunner) fsGroup() *int64 {
	p, _ := r.snapshot()
	if p.Spec.SecurityContext != nil {
		return p.Spec.SecurityContext.FSGroup
	}
	return nil
}

func (r *podRunner) containerSpec(c *corev1.Container) (*ContainerSpec, error) {
	p, _ := r.snapshot()
	im, ok := r.a.images[imageRepo(c.Image)]
	if !ok {
		return nil, fmt.Errorf("image %s is not known to the harness (e2e/agent/images.json)", c.Image)
	}
	env, err := r.envFor(c, im)
	if err != nil {
		return nil, err
	}
	envMap := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		envMap[k] = v
	}
	var argv []string
	switch {
	case len(c.Command) > 0:
		argv = append(expandAll(c.Command, envMap), expandAll(c.Args, envMap)...)
	case len(c.Args) > 0:
		argv = append(append([]string{}, im.Entrypoint...), expandAll(c.Args, envMap)...)
	default:
		argv = append(append([]string{}, im.Entrypoint...), im.Cmd...)
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("no command for image %s", c.Image)
	}
	spec := &ContainerSpec{Root: filepath.Join(r.dir, "containers", c.Name, "root"), PodEtc: filepath.Join(r.dir, "etc"),
		Env: env, Argv: argv, WorkDir: c.WorkingDir, Hostname: podHostname(p)}
	if spec.WorkDir == "" {
		spec.WorkDir = im.WorkingDir
	}
	for dst, src := range im.Mounts {
		spec.Mounts = append(spec.Mounts, Mount{Src: src, Dst: dst, ReadOnly: true})
	}
	for _, vm := range c.VolumeMounts {
		src, ok := r.volumeDir(vm.Name)
		if !ok {
			return nil, fmt.Errorf("volume %s of mount %s not found", vm.Name, vm.MountPath)
		}
		if vm.SubPath != "" {
			src = filepath.Join(src, vm.SubPath)
			if !strings.HasPrefix(src, r.dir) && !strings.HasPrefix(src, r.a.state) {
				return nil, fmt.Errorf("subPath %s leaves the volume", vm.SubPath)
			}
		}
		spec.Mounts = append(spec.Mounts, Mount{Src: src, Dst: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	sort.SliceStable(spec.Mounts, func(i, j int) bool {
		return strings.Count(spec.Mounts[i].Dst, "/") < strings.Count(spec.Mounts[j].Dst, "/")
	})
	if uid, gid, ok := r.user(c); ok {
		spec.SetUser, spec.UID, spec.GID = true, uid, gid
		if fg := r.fsGroup(); fg != nil {
			spec.Groups = append(spec.Groups, uint32(*fg))
		}
		if p.Spec.SecurityContext != nil {
			for _, g := range p.Spec.SecurityContext.SupplementalGroups {
				spec.Groups = append(spec.Groups, uint32(g))
			}
		}
	}
	return spec, nil
}

func podHostname(p *corev1.Pod) string {
	if p.Spec.Hostname != "" {
		return p.Spec.Hostname
	}
	if len(p.Name) > 63 {
		return p.Name[:63]
	}
	return p.Name
}

// expand resolves $(VAR) references as Kubernetes does ($$ escapes; unknown ones stay).
func expand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) {
			if s[i+1] == '$' {
				b.WriteByte('$')
				i++
				continue
			}
			if s[i+1] == '(' {
				if j := strings.IndexByte(s[i+2:], ')'); j >= 0 {
					name := s[i+2 : i+2+j]
					if v, ok := env[name]; ok {
						b.WriteString(v)
						i += j + 2
						continue
					}
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func expandAll(in []string, env map[string]string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, env)
	}
	return out
}

// envFor: image ENV, then kubelet's variables (service links, KUBERNETES_*), envFrom, env.
func (r *podRunner) envFor(c *corev1.Container, im Image) ([]string, error) {
	p, _ := r.snapshot()
	ctx := context.Background()
	var order []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	set("HOSTNAME", podHostname(p))
	keys := make([]string, 0, len(im.Env))
	for k := range im.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set(k, im.Env[k])
	}
	// kubelet: the API server (reachable at the bridge address: no kube-proxy) and service links.
	svcEnv := map[string]string{"KUBERNETES_SERVICE_HOST": r.a.apiHost, "KUBERNETES_SERVICE_PORT": r.a.apiPort,
		"KUBERNETES_SERVICE_PORT_HTTPS": r.a.apiPort, "KUBERNETES_PORT": "tcp://" + r.a.apiHost + ":" + r.a.apiPort,
		"KUBERNETES_PORT_443_TCP": "tcp://" + r.a.apiHost + ":" + r.a.apiPort, "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
		"KUBERNETES_PORT_443_TCP_PORT": r.a.apiPort, "KUBERNETES_PORT_443_TCP_ADDR": r.a.apiHost}
	if p.Spec.EnableServiceLinks == nil || *p.Spec.EnableServiceLinks {
		svcs, _ := r.a.svcs.Services(p.Namespace).List(everything())
		for _, s := range svcs {
			if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == "None" || len(s.Spec.Ports) == 0 {
				continue
			}
			n := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
			ip := s.Spec.ClusterIP
			svcEnv[n+"_SERVICE_HOST"] = ip
			svcEnv[n+"_SERVICE_PORT"] = strconv.Itoa(int(s.Spec.Ports[0].Port))
			svcEnv[n+"_PORT"] = fmt.Sprintf("%s://%s:%d", strings.ToLower(string(s.Spec.Ports[0].Protocol)), ip, s.Spec.Ports[0].Port)
			for _, sp := range s.Spec.Ports {
				proto := strings.ToUpper(string(sp.Protocol))
				if sp.Name != "" {
					svcEnv[n+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(sp.Name, "-", "_"))] = strconv.Itoa(int(sp.Port))
				}
				pre := fmt.Sprintf("%s_PORT_%d_%s", n, sp.Port, proto)
				svcEnv[pre] = fmt.Sprintf("%s://%s:%d", strings.ToLower(proto), ip, sp.Port)
				svcEnv[pre+"_PROTO"] = strings.ToLower(proto)
				svcEnv[pre+"_PORT"] = strconv.Itoa(int(sp.Port))
				svcEnv[pre+"_ADDR"] = ip
			}
		}
	}
	keys = keys[:0]
	for k := range svcEnv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set(k, svcEnv[k])
	}
	for _, ef := range c.EnvFrom {
		var data map[string]string
		switch {
		case ef.ConfigMapRef != nil:
			cm, err := r.a.cs.CoreV1().ConfigMaps(p.Namespace).Get(ctx, ef.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if ef.ConfigMapRef.Optional != nil && *ef.ConfigMapRef.Optional {
					continue
				}
				return nil, fmt.Errorf("envFrom configMap %s: %w", ef.ConfigMapRef.Name, err)
			}
			data = cm.Data
		case ef.SecretRef != nil:
			s, err := r.a.cs.CoreV1().Secrets(p.Namespace).Get(ctx, ef.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if ef.SecretRef.Optional != nil && *ef.SecretRef.Optional {
					continue
				}
				return nil, fmt.Errorf("envFrom secret %s: %w", ef.SecretRef.Name, err)
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
		ks := make([]string, 0, len(data))
		for k := range data {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			set(ef.Prefix+k, data[k])
		}
	}
	// $(VAR) in env values sees the container's own env defined before it and the service vars.
	refs := map[string]string{}
	for k, v := range svcEnv {
		refs[k] = v
	}
	for _, e := range c.Env {
		v := expand(e.Value, refs)
		if e.ValueFrom != nil {
			var err error
			if v, err = r.valueFrom(ctx, c, e.ValueFrom); err != nil {
				if err == errOptional {
					continue
				}
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
		}
		refs[e.Name] = v
		set(e.Name, v)
	}
	// No cgroups here: a memory limit reaches the JVM as MaxRAM (what the JVM reads from the
	// container's cgroup), and name lookups are not cached for long (Service names resolve
	// through /etc/hosts to a pod IP, not to a stable ClusterIP).
	if lim, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		jto := strings.TrimSpace(vals["JAVA_TOOL_OPTIONS"] + fmt.Sprintf(" -XX:MaxRAM=%d -Dsun.net.inetaddr.ttl=2", lim.Value()))
		set("JAVA_TOOL_OPTIONS", jto)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out, nil
}

var errOptional = fmt.Errorf("optional reference missing")

func (r *podRunner) valueFrom(ctx context.Context, c *corev1.Container, vf *corev1.EnvVarSource) (string, error) {
	p, _ := r.snapshot()
	switch {
	case vf.FieldRef != nil:
		return r.field(p, vf.FieldRef.FieldPath)
	case vf.ResourceFieldRef != nil:
		rf := vf.ResourceFieldRef
		var q interface{ Value() int64 }
		switch {
		case strings.HasPrefix(rf.Resource, "limits."):
			if v, ok := c.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(rf.Resource, "limits."))]; ok {
				q = &v
			}
		case strings.HasPrefix(rf.Resource, "requests."):
			if v, ok := c.Resources.Requests[corev1.ResourceName(strings.TrimPrefix(rf.Resource, "requests."))]; ok {
				q = &v
			}
		}
		if q == nil {
			return "0", nil
		}
		return strconv.FormatInt(q.Value(), 10), nil
	case vf.SecretKeyRef != nil:
		ref := vf.SecretKeyRef
		s, err := r.a.cs.CoreV1().Secrets(p.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err == nil {
			if v, ok := s.Data[ref.Key]; ok {
				return string(v), nil
			}
			err = fmt.Errorf("secret %s has no key %s", ref.Name, ref.Key)
		}
		if ref.Optional != nil && *ref.Optional {
			return "", errOptional
		}
		return "", err
	case vf.ConfigMapKeyRef != nil:
		ref := vf.ConfigMapKeyRef
		cm, err := r.a.cs.CoreV1().ConfigMaps(p.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err == nil {
			if v, ok := cm.Data[ref.Key]; ok {
				return v, nil
			}
			err = fmt.Errorf("configMap %s has no key %s", ref.Name, ref.Key)
		}
		if ref.Optional != nil && *ref.Optional {
			return "", errOptional
		}
		return "", err
	}
	return "", fmt.Errorf("unsupported valueFrom")
}

// field: the pod's IP is the agent's own (it may not be in the pod object it holds yet).
func (r *podRunner) field(p *corev1.Pod, path string) (string, error) {
	if path == "status.podIP" || path == "status.podIPs" {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.ip, nil
	}
	return fieldValue(p, path)
}

func fieldValue(p *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "spec.nodeName":
		return p.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return p.Status.HostIP, nil
	case "status.podIP", "status.podIPs":
		return p.Status.PodIP, nil
	}
	for _, pre := range []string{"metadata.labels", "metadata.annotations"} {
		if strings.HasPrefix(path, pre+"['") && strings.HasSuffix(path, "']") {
			k := path[len(pre)+2 : len(path)-2]
			if pre == "metadata.labels" {
				return p.Labels[k], nil
			}
			return p.Annotations[k], nil
		}
	}
	if path == "metadata.labels" || path == "metadata.annotations" {
		m := p.Labels
		if path == "metadata.annotations" {
			m = p.Annotations
		}
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		var b strings.Builder
		for _, k := range ks {
			fmt.Fprintf(&b, "%s=%q\n", k, m[k])
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("unsupported fieldPath %s", path)
}

// volumeDir: host folder (or file) backing a pod volume.
func (r *podRunner) volumeDir(name string) (string, bool) {
	p, _ := r.snapshot()
	for _, v := range p.Spec.Volumes {
		if v.Name != name {
			continue
		}
		if v.PersistentVolumeClaim != nil || v.HostPath != nil {
			b, err := os.ReadFile(filepath.Join(r.dir, "volumes", name+".source"))
			if err != nil {
				return "", false
			}
			return string(b), true
		}
		return filepath.Join(r.dir, "volumes", name), true
	}
	return "", false
}

// materialize writes every volume of the pod into dir/volumes/<name>: emptyDir, Secret,
// ConfigMap, downward API, projected (ServiceAccount token, ConfigMap, Secret, downward API),
// PVC (bound to a hostPath PV inside the state folder), hostPath (inside the state folder).
func (r *podRunner) materialize(ctx context.Context) error {
	return r.writeVolumes(ctx, false)
}

// refreshVolumes keeps Secret and ConfigMap volumes current while the pod runs, as kubelet does
// (it syncs them periodically; files are replaced atomically), so a running service sees a
// rotated Secret or an edited ConfigMap without a restart.
func (r *podRunner) refreshVolumes() {
	for {
		select {
		case <-r.done:
			return
		case <-time.After(3 * time.Second):
		}
		if r.deleting() {
			return
		}
		if err := r.writeVolumes(context.Background(), true); err != nil {
			r.logf("volume refresh: %v", err)
		}
	}
}

// writeVolumes writes the pod's volumes; updatableOnly: only Secret and ConfigMap volumes.
func (r *podRunner) writeVolumes(ctx context.Context, updatableOnly bool) error {
	p, _ := r.snapshot()
	fg := r.fsGroup()
	for _, v := range p.Spec.Volumes {
		if updatableOnly && v.Secret == nil && v.ConfigMap == nil {
			continue
		}
		dir := filepath.Join(r.dir, "volumes", v.Name)
		var files map[string]fileData
		var err error
		switch {
		case v.EmptyDir != nil:
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return err
			}
			_ = os.Chmod(dir, 0o777)
			continue
		case v.Secret != nil:
			files, err = r.secretFiles(ctx, v.Secret.SecretName, v.Secret.Items, v.Secret.DefaultMode, v.Secret.Optional)
		case v.ConfigMap != nil:
			files, err = r.configMapFiles(ctx, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.DefaultMode, v.ConfigMap.Optional)
		case v.DownwardAPI != nil:
			files, err = r.downwardFiles(v.DownwardAPI.Items, v.DownwardAPI.DefaultMode)
		case v.Projected != nil:
			files = map[string]fileData{}
			for _, src := range v.Projected.Sources {
				var part map[string]fileData
				switch {
				case src.ServiceAccountToken != nil:
					part, err = r.tokenFile(ctx, src.ServiceAccountToken)
				case src.ConfigMap != nil:
					part, err = r.configMapFiles(ctx, src.ConfigMap.Name, src.ConfigMap.Items, nil, src.ConfigMap.Optional)
				case src.Secret != nil:
					part, err = r.secretFiles(ctx, src.Secret.Name, src.Secret.Items, nil, src.Secret.Optional)
				case src.DownwardAPI != nil:
					part, err = r.downwardFiles(src.DownwardAPI.Items, nil)
				}
				if err != nil {
					return fmt.Errorf("volume %s: %w", v.Name, err)
				}
				for k, f := range part {
					if f.mode == 0 {
						f.mode = mode(v.Projected.DefaultMode, 0o644)
					}
					files[k] = f
				}
			}
		case v.PersistentVolumeClaim != nil:
			src, err := r.pvcPath(ctx, v.PersistentVolumeClaim.ClaimName)
			if err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
			if err := os.MkdirAll(src, 0o777); err != nil {
				return err
			}
			if fg != nil {
				_ = os.Chown(src, 0, int(*fg))
				_ = os.Chmod(src, 0o2775)
			}
			if err := os.WriteFile(dir+".source", []byte(src), 0o644); err != nil {
				return err
			}
			continue
		case v.HostPath != nil:
			if !strings.HasPrefix(filepath.Clean(v.HostPath.Path), r.a.state+"/") {
				return fmt.Errorf("volume %s: hostPath %s is outside the harness state folder: refused", v.Name, v.HostPath.Path)
			}
			if err := os.WriteFile(dir+".source", []byte(filepath.Clean(v.HostPath.Path)), 0o644); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("volume %s: type not supported by the harness", v.Name)
		}
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		if err := writeFiles(dir, files, fg); err != nil {
			return err
		}
	}
	return nil
}

type fileData struct {
	data []byte
	mode os.FileMode
}

func mode(m *int32, d os.FileMode) os.FileMode {
	if m != nil {
		return os.FileMode(*m)
	}
	return d
}

func writeFiles(dir string, files map[string]fileData, fg *int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for rel, f := range files {
		path := filepath.Join(dir, rel)
		if !strings.HasPrefix(path, dir+"/") {
			return fmt.Errorf("path %s leaves the volume", rel)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
			return err
		}
		if fg != nil {
			_ = os.Chown(tmp, 0, int(*fg))
		}
		_ = os.Chmod(tmp, f.mode)
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return nil
}

func (r *podRunner) secretFiles(ctx context.Context, name string, items []corev1.KeyToPath, dm *int32, optional *bool) (map[string]fileData, error) {
	p, _ := r.snapshot()
	s, err := r.a.cs.CoreV1().Secrets(p.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if optional != nil && *optional {
			return nil, nil
		}
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	data := map[string][]byte{}
	for k, v := range s.Data {
		data[k] = v
	}
	return keyFiles(data, items, dm, "secret "+name)
}

func (r *podRunner) configMapFiles(ctx context.Context, name string, items []corev1.KeyToPath, dm *int32, optional *bool) (map[string]fileData, error) {
	p, _ := r.snapshot()
	cm, err := r.a.cs.CoreV1().ConfigMaps(p.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if optional != nil && *optional {
			return nil, nil
		}
		return nil, fmt.Errorf("configMap %s: %w", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyFiles(data, items, dm, "configMap "+name)
}

func keyFiles(data map[string][]byte, items []corev1.KeyToPath, dm *int32, what string) (map[string]fileData, error) {
	out := map[string]fileData{}
	def := mode(dm, 0o644)
	if len(items) == 0 {
		for k, v := range data {
			out[k] = fileData{v, def}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("%s has no key %s", what, it.Key)
		}
		out[it.Path] = fileData{v, mode(it.Mode, def)}
	}
	return out, nil
}

func (r *podRunner) downwardFiles(items []corev1.DownwardAPIVolumeFile, dm *int32) (map[string]fileData, error) {
	p, _ := r.snapshot()
	out := map[string]fileData{}
	for _, it := range items {
		if it.FieldRef == nil {
			return nil, fmt.Errorf("downward API item %s: only fieldRef is supported", it.Path)
		}
		v, err := r.field(p, it.FieldRef.FieldPath)
		if err != nil {
			return nil, err
		}
		out[it.Path] = fileData{[]byte(v), mode(it.Mode, mode(dm, 0o644))}
	}
	return out, nil
}

// tokenFile asks the API server for a pod-bound ServiceAccount token (TokenRequest), as kubelet does.
func (r *podRunner) tokenFile(ctx context.Context, src *corev1.ServiceAccountTokenProjection) (map[string]fileData, error) {
	p, _ := r.snapshot()
	sa := p.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := int64(3600)
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	var aud []string
	if src.Audience != "" {
		aud = []string{src.Audience}
	}
	tr, err := r.a.cs.CoreV1().ServiceAccounts(p.Namespace).CreateToken(ctx, sa, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{Audiences: aud, ExpirationSeconds: &exp,
			BoundObjectRef: &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID}},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for serviceaccount %s: %w", sa, err)
	}
	return map[string]fileData{src.Path: {[]byte(tr.Status.Token), 0}}, nil
}

// pvcPath: the folder of the hostPath (or local) PV bound to the claim; only inside the state folder.
func (r *podRunner) pvcPath(ctx context.Context, claim string) (string, error) {
	p, _ := r.snapshot()
	pvc, err := r.a.cs.CoreV1().PersistentVolumeClaims(p.Namespace).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("claim %s: %w", claim, err)
	}
	if pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("claim %s is not bound", claim)
	}
	pv, err := r.a.cs.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	var path string
	switch {
	case pv.Spec.HostPath != nil:
		path = pv.Spec.HostPath.Path
	case pv.Spec.Local != nil:
		path = pv.Spec.Local.Path
	default:
		return "", fmt.Errorf("PV %s is neither hostPath nor local", pv.Name)
	}
	path = filepath.Clean(path)
	if !strings.HasPrefix(path, r.a.state+"/") {
		return "", fmt.Errorf("PV %s path %s is outside the harness state folder: refused", pv.Name, path)
	}
	return path, nil
}

// writeHosts writes dir/etc/{hosts,hostname,resolv.conf} (atomically; containers see it through
// a bind mount of dir/etc).
func (r *podRunner) writeHosts() {
	p, _ := r.snapshot()
	if r.ip == "" {
		return
	}
	etc := filepath.Join(r.dir, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return
	}
	var b strings.Builder
	b.WriteString("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
	fmt.Fprintf(&b, "%s %s\n", r.ip, podHostname(p))
	for _, l := range r.a.serviceHosts(p.Namespace) {
		b.WriteString(l + "\n")
	}
	write := func(name, content string) {
		tmp := filepath.Join(etc, "."+name+".tmp")
		if os.WriteFile(tmp, []byte(content), 0o644) == nil {
			_ = os.Rename(tmp, filepath.Join(etc, name))
		}
	}
	write("hosts", b.String())
	write("hostname", podHostname(p)+"\n")
	write("resolv.conf", fmt.Sprintf("# no DNS server in the e2e harness: names resolve through /etc/hosts\nsearch %s.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n", p.Namespace))
}

// setupNetwork: netns e2e-<uid> with the pod IP on eth0 (veth to the bridge), lo up, no default route.
func (r *podRunner) setupNetwork() error {
	if err := r.a.recordNetns(r.netns); err != nil {
		return err
	}
	host, peer := "vh"+r.short[:10], "vp"+r.short[:10]
	cmds := [][]string{
		{"netns", "add", r.netns},
		{"link", "add", host, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", r.netns},
		{"link", "set", host, "master", r.a.bridge},
		{"link", "set", host, "up"},
		{"-n", r.netns, "link", "set", peer, "name", "eth0"},
		{"-n", r.netns, "addr", "add", fmt.Sprintf("%s/%d", r.ip, r.a.prefixLen), "dev", "eth0"},
		{"-n", r.netns, "link", "set", "eth0", "up"},
		{"-n", r.netns, "link", "set", "lo", "up"},
	}
	for _, c := range cmds {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return nil
}

func (r *podRunner) teardownNetwork() {
	r.mu.Lock()
	done := r.ip == "" || r.netns == ""
	r.mu.Unlock()
	if done {
		return
	}
	if _, err := os.Stat("/run/netns/" + r.netns); err == nil {
		if out, err := exec.Command("ip", "netns", "del", r.netns).CombinedOutput(); err != nil {
			r.logf("ip netns del %s: %v: %s", r.netns, err, out)
		}
	}
}

func (a *Agent) recordNetns(name string) error {
	a.netnsMu.Lock()
	defer a.netnsMu.Unlock()
	f, err := os.OpenFile(filepath.Join(a.state, "netns.list"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(name + "\n")
	return err
}

func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }
