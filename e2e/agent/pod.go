package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

const notReadyAnnotation = "e2e.maas.io/not-ready"

func everything() labels.Selector { return labels.Everything() }
func labelsFor(svc string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{"kubernetes.io/service-name": svc})
}

// podRunner runs one pod: network namespace, volumes, init containers, containers, probes,
// status, termination.
type podRunner struct {
	a      *Agent
	uid    types.UID
	short  string
	dir    string
	netns  string
	notify chan struct{}

	mu       sync.Mutex
	pod      *corev1.Pod
	gone     bool
	ip       string
	inits    []*container
	ctrs     []*container
	initDone bool
	setupErr string
	stopping bool
	done     chan struct{}

	statusKick chan struct{}
	events     map[string]bool
}

func newPodRunner(a *Agent, p *corev1.Pod) *podRunner {
	short := strings.ReplaceAll(string(p.UID), "-", "")[:10]
	return &podRunner{a: a, uid: p.UID, short: short, pod: p,
		dir:    filepath.Join(a.state, "pods", fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, short[:8])),
		netns:  "e2e-" + short,
		notify: make(chan struct{}, 1), statusKick: make(chan struct{}, 1), done: make(chan struct{})}
}

func (r *podRunner) update(p *corev1.Pod, gone bool) {
	r.mu.Lock()
	r.pod = p
	r.gone = r.gone || gone
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	r.kickStatus()
}

func (r *podRunner) snapshot() (*corev1.Pod, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pod, r.gone
}

func (r *podRunner) deleting() bool {
	p, gone := r.snapshot()
	return gone || p.DeletionTimestamp != nil
}

func (r *podRunner) logf(format string, args ...any) {
	p, _ := r.snapshot()
	logf("%s/%s: %s", p.Namespace, p.Name, fmt.Sprintf(format, args...))
}

// run is the pod's life: wait for the IP kwok assigns, set up, run, then terminate on deletion
// (or once a run-to-completion pod finished).
func (r *podRunner) run() {
	defer close(r.done)
	defer r.a.forget(r.uid)
	// kwok takes the pod over first (hostIP, Running, not Ready); the agent then gives it an IP
	// from the node's podCIDR (ipam.go) and reports it with the pod status.
	for {
		p, _ := r.snapshot()
		if r.deleting() {
			r.finish(nil)
			return
		}
		if p.Status.HostIP != "" {
			break
		}
		<-r.notify
	}
	{
		p, _ := r.snapshot()
		n, err := r.a.nodes.Get(p.Spec.NodeName)
		var ip string
		if err == nil {
			ip, err = r.a.ips.allocate(n.Name, n.Spec.PodCIDR)
		}
		if err != nil {
			r.logf("pod IP: %v", err)
			r.event("Warning", "FailedCreatePodSandBox", "pod IP: %v", err)
			r.waitDeletion()
			r.finish(nil)
			return
		}
		r.mu.Lock()
		r.ip = ip
		r.mu.Unlock()
	}
	must(os.MkdirAll(filepath.Join(r.dir, "logs"), 0o755))
	go r.statusLoop()
	if err := r.setupNetwork(); err != nil {
		r.logf("network: %v", err)
		r.event("Warning", "FailedCreatePodSandBox", "network namespace: %v", err)
		r.setSetupErr("network: " + err.Error())
		r.waitDeletion()
		r.finish(nil)
		return
	}
	r.writeHosts()
	// Volumes: retried like kubelet does (a Secret may appear later).
	for {
		err := r.materialize(context.Background())
		if err == nil {
			r.setSetupErr("")
			break
		}
		r.setSetupErr(err.Error())
		r.logf("volumes: %v", err)
		r.event("Warning", "FailedMount", "%v", err)
		if r.waitDeletionFor(2 * time.Second) {
			r.finish(nil)
			return
		}
	}
	go r.refreshVolumes()
	p, _ := r.snapshot()
	r.mu.Lock()
	for i := range p.Spec.InitContainers {
		r.inits = append(r.inits, newContainer(r, &p.Spec.InitContainers[i], true))
	}
	for i := range p.Spec.Containers {
		r.ctrs = append(r.ctrs, newContainer(r, &p.Spec.Containers[i], false))
	}
	r.mu.Unlock()
	r.kickStatus()

	for _, c := range r.inits {
		ok := c.runToCompletion()
		if !ok {
			// restartPolicy Never: the pod failed; otherwise deletion stopped it.
			r.kickStatus()
			r.waitDeletion()
			r.finish(nil)
			return
		}
	}
	r.mu.Lock()
	r.initDone = true
	r.mu.Unlock()
	r.kickStatus()
	var wg sync.WaitGroup
	for _, c := range r.ctrs {
		wg.Add(1)
		go func(c *container) { defer wg.Done(); c.supervise() }(c)
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	for {
		select {
		case <-allDone:
			// Run-to-completion pod: every container exited; the sandbox goes, the pod object stays.
			r.kickStatus()
			r.teardownNetwork()
			r.waitDeletion()
			r.finish(nil)
			return
		case <-r.notify:
			if r.deleting() {
				p, _ := r.snapshot()
				grace := 30 * time.Second
				if p.DeletionGracePeriodSeconds != nil {
					grace = time.Duration(*p.DeletionGracePeriodSeconds) * time.Second
				}
				r.stopContainers(grace)
				<-allDone
				r.finish(nil)
				return
			}
		}
	}
}

func (r *podRunner) setSetupErr(s string) {
	r.mu.Lock()
	changed := r.setupErr != s
	r.setupErr = s
	r.mu.Unlock()
	if changed {
		r.kickStatus()
	}
}

func (r *podRunner) waitDeletion() {
	for !r.deleting() {
		<-r.notify
	}
}

// waitDeletionFor waits up to d; true when the pod is being deleted.
func (r *podRunner) waitDeletionFor(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		if r.deleting() {
			return true
		}
		select {
		case <-t.C:
			return r.deleting()
		case <-r.notify:
		}
	}
}

func (r *podRunner) stopContainers(grace time.Duration) {
	r.mu.Lock()
	r.stopping = true
	all := append(append([]*container{}, r.inits...), r.ctrs...)
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Add(1)
		go func(c *container) { defer wg.Done(); c.stop(grace) }(c)
	}
	wg.Wait()
}

// shutdown: the agent stops (harness teardown): stop everything quickly, remove the netns.
func (r *podRunner) shutdown(grace time.Duration) {
	r.stopContainers(grace)
	r.teardownNetwork()
}

// finish removes the sandbox and, for a pod being deleted, confirms the deletion (grace 0), as
// a kubelet does once the containers are gone.
func (r *podRunner) finish(_ error) {
	r.stopContainers(0)
	r.teardownNetwork()
	r.mu.Lock()
	ip := r.ip
	r.mu.Unlock()
	if ip != "" {
		r.a.ips.release(ip)
	}
	p, gone := r.snapshot()
	if !gone && p.DeletionTimestamp != nil {
		r.a.deletePod(p)
	}
}

func (a *Agent) deletePod(p *corev1.Pod) {
	zero := int64(0)
	uid := p.UID
	err := a.cs.CoreV1().Pods(p.Namespace).Delete(context.Background(), p.Name,
		metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !strings.Contains(err.Error(), "not found") {
		logf("%s/%s: delete: %v", p.Namespace, p.Name, err)
	}
}

func (r *podRunner) kickStatus() {
	select {
	case r.statusKick <- struct{}{}:
	default:
	}
}

// statusLoop patches the pod status (subresource) whenever the runner's view changes.
func (r *podRunner) statusLoop() {
	var last string
	for {
		select {
		case <-r.statusKick:
		case <-r.done:
			return
		}
		p, gone := r.snapshot()
		if gone {
			return
		}
		st := r.buildStatus(p)
		body, _ := json.Marshal(map[string]any{"status": st})
		if string(body) == last {
			continue
		}
		_, err := r.a.cs.CoreV1().Pods(p.Namespace).Patch(context.Background(), p.Name,
			types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
		if err != nil {
			if !strings.Contains(err.Error(), "not found") {
				r.logf("status: %v", err)
				time.Sleep(500 * time.Millisecond)
				r.kickStatus()
			}
			continue
		}
		last = string(body)
	}
}

type condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
	LastTransitionTime string `json:"lastTransitionTime"`
}

func (r *podRunner) buildStatus(p *corev1.Pod) map[string]any {
	r.mu.Lock()
	inits, ctrs, initDone, setupErr := r.inits, r.ctrs, r.initDone, r.setupErr
	r.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC3339)
	prev := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range p.Status.Conditions {
		prev[c.Type] = c
	}
	cond := func(t corev1.PodConditionType, ok bool, reason string) condition {
		s := "False"
		if ok {
			s, reason = "True", ""
		}
		ltt := now
		if pc, found := prev[t]; found && string(pc.Status) == s {
			ltt = pc.LastTransitionTime.UTC().Format(time.RFC3339)
		}
		return condition{Type: string(t), Status: s, Reason: reason, LastTransitionTime: ltt}
	}
	var initStatuses, ctrStatuses []map[string]any
	initFailed := false
	for _, c := range inits {
		s := c.status()
		initStatuses = append(initStatuses, s)
		if c.failedForGood() {
			initFailed = true
		}
	}
	// Annotation e2e.maas.io/not-ready=true: report the containers NotReady, as a failing
	// readiness probe would, while the processes keep serving (discovery scenarios).
	forced := p.Annotations[notReadyAnnotation] == "true"
	allReady := len(ctrs) > 0 && initDone && !forced
	allExited, allOK := len(ctrs) > 0 && initDone, true
	for _, c := range ctrs {
		cs := c.status()
		if forced {
			cs["ready"] = false
		}
		ctrStatuses = append(ctrStatuses, cs)
		ready, exited, code := c.readyExited()
		allReady = allReady && ready
		allExited = allExited && exited
		allOK = allOK && code == 0
	}
	if len(ctrStatuses) == 0 { // not set up yet: waiting containers
		for _, c := range p.Spec.Containers {
			reason, msg := "ContainerCreating", ""
			if setupErr != "" {
				reason, msg = "CreateContainerConfigError", setupErr
			}
			ctrStatuses = append(ctrStatuses, map[string]any{"name": c.Name, "image": c.Image, "imageID": "", "ready": false,
				"restartCount": 0, "started": false, "state": map[string]any{"waiting": map[string]any{"reason": reason, "message": msg}}})
		}
	}
	phase := corev1.PodRunning
	never := p.Spec.RestartPolicy == corev1.RestartPolicyNever
	if initFailed && never {
		phase = corev1.PodFailed
	} else if allExited && p.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		if allOK {
			phase = corev1.PodSucceeded
		} else if never {
			phase = corev1.PodFailed
		}
	}
	// Readiness gates (if any) must be True too.
	gatesOK := true
	for _, g := range p.Spec.ReadinessGates {
		if pc, ok := prev[g.ConditionType]; !ok || pc.Status != corev1.ConditionTrue {
			gatesOK = false
		}
	}
	terminal := phase == corev1.PodSucceeded || phase == corev1.PodFailed
	notReadyReason := "ContainersNotReady"
	if terminal {
		notReadyReason = "PodCompleted"
	}
	r.mu.Lock()
	podIP := r.ip
	r.mu.Unlock()
	st := map[string]any{
		"phase": phase,
		"conditions": []condition{
			cond(corev1.PodInitialized, initDone || (terminal && !initFailed), "ContainersNotInitialized"),
			cond(corev1.ContainersReady, allReady && !terminal, notReadyReason),
			cond(corev1.PodReady, allReady && gatesOK && !terminal, notReadyReason),
		},
		"containerStatuses": ctrStatuses,
	}
	if len(initStatuses) > 0 {
		st["initContainerStatuses"] = initStatuses
	}
	if podIP != "" {
		st["podIP"] = podIP
		st["podIPs"] = []map[string]string{{"ip": podIP}}
	}
	return st
}
