package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// execContainer runs inside the pod's network namespace and a fresh private mount + UTS
// namespace (ip netns exec ... unshare --mount --uts --propagation private): it builds the
// container's root under spec.Root (the host's / read-only at /.host, symlinked in; a private
// /etc and /tmp; the image's files and the pod's volumes bind-mounted at their paths), chroots
// into it, drops to the pod's user and execs the container's command. Nothing is mounted or
// created outside spec.Root: mount points under host folders are made by replacing the
// folder's symlink with a folder of symlinks, inside spec.Root.
func execContainer(specFile string) {
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "e2e-agent exec-container: "+format+"\n", args...)
		os.Exit(127)
	}
	raw, err := os.ReadFile(specFile)
	if err != nil {
		fail("%v", err)
	}
	var s ContainerSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		fail("%v", err)
	}
	if s.Hostname != "" {
		if err := syscall.Sethostname([]byte(s.Hostname)); err != nil {
			fail("sethostname: %v", err)
		}
	}
	root := s.Root
	// Mounts of an earlier run lived in its own (gone) mount namespace; never delete through a
	// mount (root/.host is the host's /) should one be visible here after all.
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(mi), "\n") {
			if f := strings.Fields(line); len(f) > 4 && (f[4] == root || strings.HasPrefix(f[4], root+"/")) {
				fail("refusing to clean %s: %s is mounted", root, f[4])
			}
		}
	}
	if err := os.RemoveAll(root); err != nil {
		fail("clean root: %v", err)
	}
	mkdir := func(p string, m os.FileMode) {
		if err := os.MkdirAll(p, m); err != nil {
			fail("%v", err)
		}
		_ = os.Chmod(p, m)
	}
	mount := func(src, dst string, flags uintptr) {
		if err := syscall.Mount(src, dst, "", flags, ""); err != nil {
			fail("mount %s on %s: %v", src, dst, err)
		}
	}
	mkdir(filepath.Join(root, ".host"), 0o755)
	mount("/", filepath.Join(root, ".host"), syscall.MS_BIND|syscall.MS_REC)
	mount("", filepath.Join(root, ".host"), syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY)
	top, err := os.ReadDir("/")
	if err != nil {
		fail("%v", err)
	}
	for _, e := range top {
		switch e.Name() {
		case "etc", "tmp", "lost+found":
			continue
		}
		if err := os.Symlink("/.host/"+e.Name(), filepath.Join(root, e.Name())); err != nil {
			fail("%v", err)
		}
	}
	mkdir(filepath.Join(root, "tmp"), 0o1777)
	mkdir(filepath.Join(root, "etc"), 0o755)
	etc, err := os.ReadDir("/etc")
	if err != nil {
		fail("%v", err)
	}
	for _, e := range etc {
		switch e.Name() {
		case "hosts", "hostname", "resolv.conf":
			continue
		}
		_ = os.Symlink("/.host/etc/"+e.Name(), filepath.Join(root, "etc", e.Name()))
	}
	mkdir(filepath.Join(root, ".pod"), 0o755)
	mount(s.PodEtc, filepath.Join(root, ".pod"), syscall.MS_BIND)
	mount("", filepath.Join(root, ".pod"), syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY)
	for _, f := range []string{"hosts", "hostname", "resolv.conf"} {
		_ = os.Symlink("/.pod/"+f, filepath.Join(root, "etc", f))
	}
	for _, m := range s.Mounts {
		fi, err := os.Stat(m.Src)
		if err != nil {
			fail("mount source %s: %v", m.Src, err)
		}
		dst, err := mountPoint(root, m.Dst, !fi.IsDir())
		if err != nil {
			fail("mount point %s: %v", m.Dst, err)
		}
		mount(m.Src, dst, syscall.MS_BIND|syscall.MS_REC)
		if m.ReadOnly {
			mount("", dst, syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY)
		}
	}
	if err := syscall.Chroot(root); err != nil {
		fail("chroot: %v", err)
	}
	wd := s.WorkDir
	if wd == "" {
		wd = "/"
	}
	if err := os.Chdir(wd); err != nil {
		fail("working dir %s: %v", wd, err)
	}
	if s.SetUser {
		groups := make([]int, 0, len(s.Groups))
		for _, g := range s.Groups {
			groups = append(groups, int(g))
		}
		if err := syscall.Setgroups(groups); err != nil {
			fail("setgroups: %v", err)
		}
		if err := syscall.Setgid(int(s.GID)); err != nil {
			fail("setgid: %v", err)
		}
		if err := syscall.Setuid(int(s.UID)); err != nil {
			fail("setuid: %v", err)
		}
	}
	path := s.Argv[0]
	if !strings.Contains(path, "/") {
		path = lookPath(path, s.Env)
	}
	err = syscall.Exec(path, s.Argv, s.Env)
	fail("exec %s: %v", s.Argv[0], err)
}

func lookPath(name string, env []string) string {
	p := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			p = v
		}
	}
	for _, d := range strings.Split(p, ":") {
		c := filepath.Join(d, name)
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c
		}
	}
	return name
}

// mountPoint makes root+dst exist (a folder, or an empty file when file) without writing
// outside root: a component that is one of our /.host symlinks becomes a real folder holding
// symlinks to the host folder's entries.
func mountPoint(root, dst string, file bool) (string, error) {
	parts := strings.Split(strings.Trim(filepath.Clean(dst), "/"), "/")
	cur := root
	for i, part := range parts {
		last := i == len(parts)-1
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		switch {
		case os.IsNotExist(err):
			if last && file {
				f, err := os.OpenFile(next, os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					return "", err
				}
				f.Close()
			} else if err := os.Mkdir(next, 0o755); err != nil {
				return "", err
			}
		case err != nil:
			return "", err
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(next)
			if err != nil {
				return "", err
			}
			if !strings.HasPrefix(target, "/.host/") && !strings.HasPrefix(target, "/.pod/") {
				return "", fmt.Errorf("%s is a symlink to %s", next, target)
			}
			hostPath := strings.TrimPrefix(target, "/.host")
			if err := os.Remove(next); err != nil {
				return "", err
			}
			if last && file {
				f, err := os.OpenFile(next, os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					return "", err
				}
				f.Close()
				break
			}
			if err := os.Mkdir(next, 0o755); err != nil {
				return "", err
			}
			if last || strings.HasPrefix(target, "/.pod/") {
				break // the mount covers it: no need for the host's entries
			}
			entries, _ := os.ReadDir(hostPath)
			for _, e := range entries {
				_ = os.Symlink(target+"/"+e.Name(), filepath.Join(next, e.Name()))
			}
		}
		cur = next
	}
	return cur, nil
}
