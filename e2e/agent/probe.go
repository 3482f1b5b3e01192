package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeLoop runs the container's startup probe, then its readiness and liveness probes, with
// their periods and thresholds, until stop closes. A liveness failure kills the process (the
// supervisor restarts it).
func (c *container) probeLoop(stop chan struct{}) {
	sleep := func(d time.Duration) bool {
		select {
		case <-stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	if sp := c.spec.StartupProbe; sp != nil {
		if !sleep(seconds(sp.InitialDelaySeconds, 0)) {
			return
		}
		fails := int32(0)
		for {
			if c.probe(sp) == nil {
				break
			}
			fails++
			if fails >= def(sp.FailureThreshold, 3) {
				c.r.logf("container %s: startup probe failed %d times: restarting", c.spec.Name, fails)
				c.r.event("Warning", "Unhealthy", "Startup probe failed %d times; container %s will be restarted", fails, c.spec.Name)
				c.kill()
				return
			}
			if !sleep(seconds(sp.PeriodSeconds, 10)) {
				return
			}
		}
	}
	c.setStarted()
	rp, lp := c.spec.ReadinessProbe, c.spec.LivenessProbe
	if rp == nil {
		c.setReady(true)
	}
	if rp == nil && lp == nil {
		<-stop
		return
	}
	go func() {
		if lp == nil || !sleep(seconds(lp.InitialDelaySeconds, 0)) {
			return
		}
		fails := int32(0)
		for {
			if err := c.probe(lp); err != nil {
				fails++
				if fails >= def(lp.FailureThreshold, 3) {
					c.r.logf("container %s: liveness probe failed %d times (%v): restarting", c.spec.Name, fails, err)
					c.r.event("Warning", "Unhealthy", "Liveness probe failed: %v; container %s will be restarted", err, c.spec.Name)
					c.kill()
					return
				}
			} else {
				fails = 0
			}
			if !sleep(seconds(lp.PeriodSeconds, 10)) {
				return
			}
		}
	}()
	if rp == nil {
		<-stop
		return
	}
	if !sleep(seconds(rp.InitialDelaySeconds, 0)) {
		return
	}
	fails, oks := int32(0), int32(0)
	ready := false
	for {
		if err := c.probe(rp); err != nil {
			oks = 0
			fails++
			if ready && fails >= def(rp.FailureThreshold, 3) {
				ready = false
				c.r.logf("container %s: readiness probe failed: %v", c.spec.Name, err)
				c.r.event("Warning", "Unhealthy", "Readiness probe failed: %v", err)
				c.setReady(false)
			}
		} else {
			fails = 0
			oks++
			if !ready && oks >= def(rp.SuccessThreshold, 1) {
				ready = true
				c.setReady(true)
			}
		}
		if !sleep(seconds(rp.PeriodSeconds, 10)) {
			return
		}
	}
}

func (c *container) kill() {
	c.mu.Lock()
	pid, running := c.pid, c.running
	c.mu.Unlock()
	if running {
		_ = killGroup(pid)
	}
}

func seconds(v int32, d int32) time.Duration {
	if v <= 0 {
		v = d
	}
	return time.Duration(v) * time.Second
}

func def(v, d int32) int32 {
	if v <= 0 {
		return d
	}
	return v
}

// probe runs one probe against the pod IP (grpc, httpGet, tcpSocket) or inside the container (exec).
func (c *container) probe(p *corev1.Probe) error {
	timeout := seconds(p.TimeoutSeconds, 1)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ip := c.r.ip
	switch {
	case p.GRPC != nil:
		conn, err := grpc.NewClient(net.JoinHostPort(ip, strconv.Itoa(int(p.GRPC.Port))),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		svc := ""
		if p.GRPC.Service != nil {
			svc = *p.GRPC.Service
		}
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			return err
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("grpc health: %v", resp.Status)
		}
		return nil
	case p.HTTPGet != nil:
		port, err := c.port(p.HTTPGet.Port)
		if err != nil {
			return err
		}
		scheme := "http"
		if p.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		host := ip
		if p.HTTPGet.Host != "" {
			host = p.HTTPGet.Host
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(port)), p.HTTPGet.Path), nil)
		for _, h := range p.HTTPGet.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("http %d", resp.StatusCode)
		}
		return nil
	case p.TCPSocket != nil:
		port, err := c.port(p.TCPSocket.Port)
		if err != nil {
			return err
		}
		d := net.Dialer{}
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	case p.Exec != nil:
		c.mu.Lock()
		pid := c.pid
		c.mu.Unlock()
		// Inside the container: its network and mount namespaces, root, working dir and user.
		args := []string{"--target", strconv.Itoa(pid), "--net", "--mount", "--uts", "--root", "--wd"}
		if uid, gid, ok := c.r.user(c.spec); ok {
			args = append(args, "--setuid", strconv.Itoa(int(uid)), "--setgid", strconv.Itoa(int(gid)))
		}
		args = append(args, p.Exec.Command...)
		out, err := exec.CommandContext(ctx, "nsenter", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("exec probe: %v: %s", err, out)
		}
		return nil
	}
	return fmt.Errorf("probe without handler")
}

// port resolves a named or numeric container port.
func (c *container) port(p intstr.IntOrString) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.spec.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no container port named %q", p.StrVal)
}
