package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
)

// ipam hands out pod IPs from each node's spec.podCIDR round-robin, as CNI's host-local IPAM
// does: a freed address comes back only after the rest of the range, so a new pod does not
// take the IP of one that just went away (kwok's own pool reuses a freed IP at once, which
// clients holding connections to the old pod would see but a real cluster almost never shows).
// The agent uses the upper half of each /24 (.128-.254); kwok's pool, for simulated pods,
// starts at the bottom.
type ipam struct {
	mu    sync.Mutex
	next  map[string]uint32 // node -> next offset to try
	inUse map[string]bool
}

func newIPAM() *ipam { return &ipam{next: map[string]uint32{}, inUse: map[string]bool{}} }

func (m *ipam) allocate(node, cidr string) (string, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return "", fmt.Errorf("node %s podCIDR %q: %w", node, cidr, err)
	}
	ones, bits := n.Mask.Size()
	if bits != 32 || ones > 24 {
		return "", fmt.Errorf("node %s podCIDR %s: the harness needs an IPv4 /24 or larger", node, cidr)
	}
	base := binary.BigEndian.Uint32(n.IP.To4())
	const lo, hi = 128, 254
	m.mu.Lock()
	defer m.mu.Unlock()
	off := m.next[node]
	if off < lo || off > hi {
		off = lo
	}
	for i := 0; i <= hi-lo; i++ {
		ipb := make(net.IP, 4)
		binary.BigEndian.PutUint32(ipb, base+off)
		ip := ipb.String()
		off++
		if off > hi {
			off = lo
		}
		if !m.inUse[ip] {
			m.inUse[ip] = true
			m.next[node] = off
			return ip, nil
		}
	}
	return "", fmt.Errorf("node %s: no free pod IP in %s", node, cidr)
}

func (m *ipam) release(ip string) {
	m.mu.Lock()
	delete(m.inUse, ip)
	m.mu.Unlock()
}
