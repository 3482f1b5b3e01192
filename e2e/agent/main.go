// Command e2e-agent stands in for kubelet and a container runtime on the e2e harness's kwok
// nodes: for each pod the scheduler bound to a kwok node it runs the real service processes in
// a network namespace holding the pod's IP, probes them with the pod's own probes and reports
// their state through the pod status (e2e/README.md). Watch-based: client-go informers.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

const simulatedLabel = "e2e.maas.io/simulated"

// Image says how to run one image repository: files mounted where the image has them, ENV,
// ENTRYPOINT, CMD and WORKDIR (from docker/*.Dockerfile).
type Image struct {
	Mounts     map[string]string `json:"mounts"`
	Env        map[string]string `json:"env"`
	Entrypoint []string          `json:"entrypoint"`
	Cmd        []string          `json:"cmd"`
	WorkingDir string            `json:"workingDir"`
}

// Agent holds the informers and one podRunner per pod it runs.
type Agent struct {
	cs        kubernetes.Interface
	state     string
	self      string
	images    map[string]Image
	bridge    string
	gateway   string
	prefixLen int
	apiHost   string
	apiPort   string

	nodes  listersv1.NodeLister
	svcs   listersv1.ServiceLister
	slices discoverylisters.EndpointSliceLister

	mu      sync.Mutex
	runners map[types.UID]*podRunner
	netnsMu sync.Mutex

	hostsKick chan struct{}
	ctx       context.Context
	ips       *ipam
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "exec-container" {
		execContainer(os.Args[2]) // never returns
	}
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	var kubeconfig, state, repo, imagesFile, grpcurl, bridge, gateway, apiserver string
	var prefixLen int
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the agent")
	flag.StringVar(&state, "state", "", "harness state folder")
	flag.StringVar(&repo, "repo", "", "repository checkout (image contents)")
	flag.StringVar(&imagesFile, "images", "", "images.json")
	flag.StringVar(&grpcurl, "grpcurl", "", "grpcurl binary")
	flag.StringVar(&bridge, "bridge", "", "host bridge of the pod network")
	flag.StringVar(&gateway, "gateway", "", "bridge address (the API server's)")
	flag.StringVar(&apiserver, "apiserver", "", "host:port of the API server as pods reach it")
	flag.IntVar(&prefixLen, "pod-prefix-len", 16, "prefix length of the pod network")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	must(err)
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	must(err)
	self, err := os.Executable()
	must(err)
	images := map[string]Image{}
	raw, err := os.ReadFile(imagesFile)
	must(err)
	raw = []byte(strings.NewReplacer("${REPO}", repo, "${GRPCURL}", grpcurl).Replace(string(raw)))
	var all map[string]json.RawMessage
	must(json.Unmarshal(raw, &all))
	for k, v := range all {
		if strings.HasPrefix(k, "_") {
			continue
		}
		var im Image
		must(json.Unmarshal(v, &im))
		images[k] = im
	}
	host, port, _ := strings.Cut(apiserver, ":")

	ctx, cancel := context.WithCancel(context.Background())
	a := &Agent{cs: cs, state: state, self: self, images: images, bridge: bridge, gateway: gateway,
		prefixLen: prefixLen, apiHost: host, apiPort: port, runners: map[types.UID]*podRunner{},
		hostsKick: make(chan struct{}, 1), ctx: ctx, ips: newIPAM()}

	f := informers.NewSharedInformerFactory(cs, 0)
	a.nodes = f.Core().V1().Nodes().Lister()
	a.svcs = f.Core().V1().Services().Lister()
	a.slices = f.Discovery().V1().EndpointSlices().Lister()
	kick := func(any) { a.kickHosts() }
	f.Core().V1().Services().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: kick, DeleteFunc: kick, UpdateFunc: func(_, n any) { kick(n) }})
	f.Discovery().V1().EndpointSlices().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: kick, DeleteFunc: kick, UpdateFunc: func(_, n any) { kick(n) }})
	podInf := f.Core().V1().Pods().Informer()
	podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { a.syncPod(o.(*corev1.Pod), false) },
		UpdateFunc: func(_, n any) { a.syncPod(n.(*corev1.Pod), false) },
		DeleteFunc: func(o any) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if p, ok := o.(*corev1.Pod); ok {
				a.syncPod(p, true)
			}
		},
	})
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	go a.hostsLoop()
	must(os.WriteFile(filepath.Join(state, "agent.ready"), []byte("ok\n"), 0o644))
	log.Printf("agent ready: %d images known", len(images))

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	log.Printf("stopping every pod")
	a.mu.Lock()
	rs := make([]*podRunner, 0, len(a.runners))
	for _, r := range a.runners {
		rs = append(rs, r)
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func(r *podRunner) { defer wg.Done(); r.shutdown(5 * time.Second) }(r)
	}
	wg.Wait()
	cancel()
	log.Printf("agent stopped")
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// syncPod hands a pod's new state to its runner, starting one for a pod newly bound to a kwok node.
func (a *Agent) syncPod(p *corev1.Pod, gone bool) {
	if p.Spec.NodeName == "" || p.Labels[simulatedLabel] == "true" {
		return
	}
	a.mu.Lock()
	r := a.runners[p.UID]
	if r == nil {
		if gone || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			a.mu.Unlock()
			if !gone && p.DeletionTimestamp != nil {
				a.deletePod(p)
			}
			return
		}
		n, err := a.nodes.Get(p.Spec.NodeName)
		if err != nil || n.Annotations["kwok.x-k8s.io/node"] != "fake" {
			a.mu.Unlock()
			return
		}
		r = newPodRunner(a, p)
		a.runners[p.UID] = r
		go r.run()
	}
	a.mu.Unlock()
	r.update(p, gone)
}

func (a *Agent) forget(uid types.UID) {
	a.mu.Lock()
	delete(a.runners, uid)
	a.mu.Unlock()
}

func (a *Agent) kickHosts() {
	select {
	case a.hostsKick <- struct{}{}:
	default:
	}
}

// hostsLoop rewrites every running pod's /etc/hosts when Services or EndpointSlices change
// (at most every 200 ms): a Service's names map to one of its ready endpoints.
func (a *Agent) hostsLoop() {
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.hostsKick:
		}
		time.Sleep(200 * time.Millisecond)
		a.mu.Lock()
		rs := make([]*podRunner, 0, len(a.runners))
		for _, r := range a.runners {
			rs = append(rs, r)
		}
		a.mu.Unlock()
		for _, r := range rs {
			r.writeHosts()
		}
	}
}

// serviceHosts returns "ip name..." lines for every Service with a ready endpoint, seen from
// namespace ns (short names for its own Services).
func (a *Agent) serviceHosts(ns string) []string {
	svcs, _ := a.svcs.List(everything())
	var lines []string
	for _, s := range svcs {
		ip := a.readyEndpoint(s)
		if ip == "" {
			continue
		}
		names := []string{s.Name + "." + s.Namespace + ".svc.cluster.local", s.Name + "." + s.Namespace + ".svc", s.Name + "." + s.Namespace}
		if s.Namespace == ns {
			names = append(names, s.Name)
		}
		lines = append(lines, ip+" "+strings.Join(names, " "))
	}
	sort.Strings(lines)
	return lines
}

func (a *Agent) readyEndpoint(s *corev1.Service) string {
	slices, _ := a.slices.EndpointSlices(s.Namespace).List(labelsFor(s.Name))
	var ips []string
	for _, sl := range slices {
		if sl.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, e := range sl.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready && len(e.Addresses) > 0 {
				ips = append(ips, e.Addresses[0])
			}
		}
	}
	sort.Strings(ips)
	if len(ips) == 0 {
		return ""
	}
	return ips[0]
}

func logf(format string, args ...any) { log.Output(2, fmt.Sprintf(format, args...)) }
