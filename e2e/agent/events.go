package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// event records a kubelet-style Event on the pod (kubectl get events / describe), once per
// distinct reason and message.
func (r *podRunner) event(typ, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	key := reason + "\x00" + msg
	r.mu.Lock()
	if r.events == nil {
		r.events = map[string]bool{}
	}
	seen := r.events[key]
	r.events[key] = true
	p := r.pod
	r.mu.Unlock()
	if seen {
		return
	}
	now := metav1.NewTime(time.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: p.Name + ".", Namespace: p.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: p.Namespace, Name: p.Name,
			UID: p.UID, ResourceVersion: p.ResourceVersion},
		Reason: reason, Message: msg, Type: typ, Count: 1, FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: "e2e-node-agent", Host: p.Spec.NodeName},
	}
	if _, err := r.a.cs.CoreV1().Events(p.Namespace).Create(context.Background(), ev, metav1.CreateOptions{}); err != nil &&
		!strings.Contains(err.Error(), "being terminated") {
		r.logf("event %s: %v", reason, err)
	}
}
