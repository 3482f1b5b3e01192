package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// container is one container of a pod: its process, restarts and probe results.
type container struct {
	r    *podRunner
	spec *corev1.Container
	init bool

	mu         sync.Mutex
	cmd        *exec.Cmd
	pid        int
	running    bool
	started    bool // startup probe passed (or none)
	ready      bool
	restarts   int32
	startedAt  time.Time
	exited     bool
	exitCode   int
	finishedAt time.Time
	reason     string
	message    string
	stopped    bool
	exitCh     chan struct{}
}

func newContainer(r *podRunner, spec *corev1.Container, init bool) *container {
	return &container{r: r, spec: spec, init: init}
}

// start launches the process: ip netns exec <ns> unshare (mount, UTS) <agent> exec-container
// <spec>, in its own process group, stdout/stderr appended to logs/<name>.log.
func (c *container) start() error {
	spec, err := c.r.containerSpec(c.spec)
	if err != nil {
		c.r.event("Warning", "Failed", "container %s: %v", c.spec.Name, err)
		return err
	}
	cdir := filepath.Join(c.r.dir, "containers", c.spec.Name)
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return err
	}
	specFile := filepath.Join(cdir, "spec.json")
	b, _ := json.MarshalIndent(spec, "", "  ")
	if err := os.WriteFile(specFile, b, 0o600); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(c.r.dir, "logs", c.spec.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "----- %s start (restart %d)\n", time.Now().Format(time.RFC3339), c.restarts)
	cmd := exec.Command("ip", "netns", "exec", c.r.netns, "unshare", "--mount", "--uts", "--propagation", "private",
		c.r.a.self, "exec-container", specFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.r.event("Normal", "Started", "Started container %s (restart %d)", c.spec.Name, c.restarts)
	pidFile := filepath.Join(c.r.a.state, "pids", "containers", c.r.short+"-"+c.spec.Name)
	_ = os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	c.mu.Lock()
	c.cmd, c.pid, c.running, c.exited = cmd, cmd.Process.Pid, true, false
	c.started, c.ready = false, false
	c.startedAt = time.Now()
	c.exitCh = make(chan struct{})
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			} else {
				code = ee.ExitCode()
			}
		} else if err != nil {
			code = 128
		}
		// Whatever the process left in its group goes with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = os.Remove(pidFile)
		c.mu.Lock()
		c.running, c.exited, c.exitCode, c.finishedAt = false, true, code, time.Now()
		c.ready = false
		c.reason = "Completed"
		if code != 0 {
			c.reason = "Error"
		}
		close(c.exitCh)
		c.mu.Unlock()
		c.r.logf("container %s exited with %d", c.spec.Name, code)
		if code != 0 && !c.isStopped() {
			c.r.event("Warning", "BackOff", "container %s exited with code %d (log: %s)", c.spec.Name, code,
				filepath.Join(c.r.dir, "logs", c.spec.Name+".log"))
		}
		c.r.kickStatus()
	}()
	c.r.kickStatus()
	return nil
}

func (c *container) waitExit() {
	c.mu.Lock()
	ch := c.exitCh
	c.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (c *container) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// backoff before restart number n (kubelet: 10 s doubling to 5 min; shorter here).
func backoff(n int32) time.Duration {
	d := time.Second << min(n, 4)
	return min(d, 10*time.Second)
}

// runToCompletion runs an init container until it exits 0 (restarting it unless the pod's
// restartPolicy is Never). false: it failed for good, or the pod is being deleted.
func (c *container) runToCompletion() bool {
	for {
		if c.isStopped() || c.r.deleting() {
			return false
		}
		if err := c.start(); err != nil {
			c.setWaiting("RunContainerError", err.Error())
			return false
		}
		c.waitExit()
		c.mu.Lock()
		code := c.exitCode
		c.mu.Unlock()
		if code == 0 {
			return true
		}
		p, _ := c.r.snapshot()
		if p.Spec.RestartPolicy == corev1.RestartPolicyNever || c.isStopped() {
			return false
		}
		c.mu.Lock()
		c.restarts++
		n := c.restarts
		c.mu.Unlock()
		if c.r.waitDeletionFor(backoff(n)) {
			return false
		}
	}
}

func (c *container) setWaiting(reason, msg string) {
	c.mu.Lock()
	c.reason, c.message = reason, msg
	c.exited, c.exitCode = true, 128
	c.mu.Unlock()
	c.r.kickStatus()
}

// failedForGood: an init container of a restartPolicy Never pod that exited non-zero.
func (c *container) failedForGood() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, _ := c.r.snapshot()
	return c.exited && c.exitCode != 0 && p.Spec.RestartPolicy == corev1.RestartPolicyNever
}

// supervise runs a main container with its probes, restarting it per restartPolicy.
func (c *container) supervise() {
	for {
		if c.isStopped() || c.r.deleting() {
			return
		}
		if err := c.start(); err != nil {
			c.r.logf("container %s: %v", c.spec.Name, err)
			c.setWaiting("RunContainerError", err.Error())
			return
		}
		probeStop := make(chan struct{})
		go c.probeLoop(probeStop)
		c.waitExit()
		close(probeStop)
		c.mu.Lock()
		code := c.exitCode
		c.mu.Unlock()
		p, _ := c.r.snapshot()
		switch {
		case c.isStopped() || c.r.deleting():
			return
		case p.Spec.RestartPolicy == corev1.RestartPolicyNever,
			p.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && code == 0:
			return
		}
		c.mu.Lock()
		c.restarts++
		n := c.restarts
		c.mu.Unlock()
		c.r.kickStatus()
		if c.r.waitDeletionFor(backoff(n)) {
			return
		}
	}
}

// stop: SIGTERM to the process group, grace, SIGKILL; no restart afterwards.
func (c *container) stop(grace time.Duration) {
	c.mu.Lock()
	c.stopped = true
	pid, running, ch := c.pid, c.running, c.exitCh
	c.mu.Unlock()
	if !running || ch == nil {
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-ch:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-ch
	}
}

func (c *container) readyExited() (bool, bool, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready, c.exited && !c.running, c.exitCode
}

func (c *container) setReady(ready bool) {
	c.mu.Lock()
	changed := c.ready != ready && c.running
	if c.running {
		c.ready = ready
	}
	c.mu.Unlock()
	if changed {
		c.r.logf("container %s ready=%v", c.spec.Name, ready)
		c.r.kickStatus()
	}
}

func (c *container) setStarted() {
	c.mu.Lock()
	c.started = true
	c.mu.Unlock()
	c.r.kickStatus()
}

func (c *container) status() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	var state, last map[string]any
	switch {
	case c.running:
		state = map[string]any{"running": map[string]any{"startedAt": ts(c.startedAt)}}
	case c.exited && c.startedAt.IsZero():
		state = map[string]any{"waiting": map[string]any{"reason": c.reason, "message": c.message}}
	case c.exited:
		term := map[string]any{"exitCode": c.exitCode, "reason": c.reason, "startedAt": ts(c.startedAt), "finishedAt": ts(c.finishedAt)}
		p, _ := c.r.snapshot()
		restarting := !c.stopped && !c.init && (p.Spec.RestartPolicy == corev1.RestartPolicyAlways ||
			(p.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && c.exitCode != 0))
		if restarting {
			state = map[string]any{"waiting": map[string]any{"reason": "CrashLoopBackOff"}}
			last = map[string]any{"terminated": term}
		} else {
			state = map[string]any{"terminated": term}
		}
	default:
		state = map[string]any{"waiting": map[string]any{"reason": "PodInitializing"}}
	}
	s := map[string]any{"name": c.spec.Name, "image": c.spec.Image, "imageID": "", "ready": c.ready,
		"restartCount": c.restarts, "started": c.running && c.started, "state": state,
		"containerID": fmt.Sprintf("e2e://%s-%s", c.r.short, c.spec.Name)}
	if last != nil {
		s["lastState"] = last
	}
	return s
}
