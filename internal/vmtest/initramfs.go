package vmtest

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// hostTools are copied into the VM with their shared libraries when the host
// has them (missing ones are logged and skipped).
var hostTools = []string{
	"bash", "ipvsadm", "nft", "xtables-legacy-multi", "xtables-nft-multi",
	"ipset", "conntrack", "ip", "ss", "bridge", "tc", "ldd",
}

// builder collects the entries of an initramfs, copying each host file once.
type builder struct {
	ctx    context.Context
	logger *slog.Logger
	a      *Archive
	files  map[string]bool // archive paths of regular files and symlinks
}

func newBuilder(ctx context.Context, logger *slog.Logger, a *Archive) *builder {
	return &builder{ctx: ctx, logger: logger, a: a, files: map[string]bool{}}
}

// addHostFile copies the host file src (symlinks followed) to name.
func (b *builder) addHostFile(name, src string) error {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if b.files[name] {
		return nil
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("vmtest: %s is not a regular file", src)
	}
	b.files[name] = true
	return b.a.AddFileFrom(name, st.Mode().Perm(), st.Size(), f)
}

func (b *builder) addSymlink(name, target string) error {
	if b.files[name] {
		return nil
	}
	b.files[name] = true
	return b.a.AddSymlink(name, target)
}

// addELF copies an executable or shared object and its ldd closure, each to
// its merged-/usr place.
func (b *builder) addELF(name, src string) error {
	if err := b.addHostFile(name, src); err != nil {
		return err
	}
	libs, err := sharedLibs(b.ctx, src)
	if err != nil {
		return err
	}
	for _, l := range libs {
		if err := b.addHostFile(archivePath(l), l); err != nil {
			return err
		}
	}
	return nil
}

// addSkeleton writes the directory layout, /dev/console and small /etc files.
func (b *builder) addSkeleton() error {
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib64", "proc", "sys", "dev", "run", "etc", "payload", "var"} {
		if err := b.a.AddDir(d, 0o755); err != nil {
			return err
		}
	}
	if err := b.a.AddDir("tmp", 0o1777); err != nil {
		return err
	}
	for name, target := range map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64", "var/run": "../run"} {
		if err := b.addSymlink(name, target); err != nil {
			return err
		}
	}
	if err := b.a.AddCharDevice("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	etc := map[string]string{
		"etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\nprotocols: files\nservices: files\n",
		"etc/hosts":         "127.0.0.1 localhost\n::1 localhost\n",
		"etc/passwd":        "root:x:0:0:root:/root:/bin/bash\n",
		"etc/group":         "root:x:0:\n",
		// no dummy0 in the VM's root netns: tests create their own links.
		"etc/modprobe.d/proxykit-vm.conf": "options dummy numdummies=0\n",
	}
	for name, body := range etc {
		if err := b.a.AddFile(name, 0o644, []byte(body)); err != nil {
			return err
		}
		b.files[name] = true
	}
	for _, f := range []string{"/etc/protocols", "/etc/services", "/etc/ethertypes"} {
		if _, err := os.Stat(f); err == nil {
			if err := b.addHostFile(f, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// addBusybox copies the static busybox and links every applet that no real
// tool shadows; call it after the tools.
func (b *builder) addBusybox() error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return &UnavailableError{What: "busybox not on PATH (install busybox-static)", Err: err}
	}
	if dyn, err := isDynamic(bb); err != nil || dyn {
		return &UnavailableError{What: bb + " is not a static busybox (install busybox-static)", Err: err}
	}
	if err := b.addHostFile("usr/bin/busybox", bb); err != nil {
		return err
	}
	out, err := run(b.ctx, "", bb, "--list")
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if strings.Contains(applet, "/") || b.files["usr/sbin/"+applet] || b.files["usr/bin/"+applet] {
			continue
		}
		if err := b.addSymlink("usr/bin/"+applet, "busybox"); err != nil {
			return err
		}
	}
	return nil
}

// addTools copies the host tools, the xtables plugins and the iptables names.
func (b *builder) addTools() error {
	for _, tool := range hostTools {
		p, err := exec.LookPath(tool)
		if err != nil {
			b.logger.Warn("vmtest: host tool missing, not in the VM", "tool", tool)
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("vmtest: %w", err)
		}
		if err := b.addELF(archivePath(real), real); err != nil {
			return err
		}
		if ap := archivePath(real); ap != "usr/sbin/"+tool && ap != "usr/bin/"+tool {
			if err := b.addSymlink("usr/sbin/"+tool, "/"+ap); err != nil {
				return err
			}
		}
	}
	plugins, _ := filepath.Glob("/usr/lib/*/xtables/*.so")
	for _, so := range plugins {
		if err := b.addELF(archivePath(so), so); err != nil {
			return err
		}
	}
	return b.addIptablesNames()
}

// addIptablesNames links iptables{,-legacy,-nft}{,-save,-restore} and the
// ip6tables ones to the multi binaries that were copied; plain iptables is
// the nft variant, as on Debian.
func (b *builder) addIptablesNames() error {
	for _, fam := range []string{"iptables", "ip6tables"} {
		for _, suffix := range []string{"", "-save", "-restore"} {
			for variant, multi := range map[string]string{"-legacy": "xtables-legacy-multi", "-nft": "xtables-nft-multi", "": "xtables-nft-multi"} {
				if !b.files["usr/sbin/"+multi] {
					continue
				}
				if err := b.addSymlink("usr/sbin/"+fam+variant+suffix, multi); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// addModules copies the module closure with its own depmod index files and
// the list of boot modules that this kernel has. scratch is a temporary
// directory for the subset tree.
func (b *builder) addModules(kver, modDir, scratch string) (int, error) {
	ix, err := loadModIndex(modDir)
	if err != nil {
		return 0, err
	}
	mods := ix.closure(moduleDirs, moduleFiles)
	if modDir, err = subsetModules(b.ctx, modDir, kver, mods, scratch); err != nil {
		return 0, err
	}
	dst := "usr/lib/modules/" + kver + "/"
	for _, m := range mods {
		if err := b.addHostFile(dst+m, filepath.Join(modDir, filepath.FromSlash(m))); err != nil {
			return 0, err
		}
	}
	idx, _ := filepath.Glob(filepath.Join(modDir, "modules.*"))
	sort.Strings(idx)
	for _, p := range idx {
		if err := b.addHostFile(dst+filepath.Base(p), p); err != nil {
			return 0, err
		}
	}
	have, missing := ix.present(bootModules)
	if len(missing) > 0 {
		b.logger.Info("vmtest: kernel lacks some boot modules", "kernel", kver, "missing", missing)
	}
	return len(mods), b.a.AddFile("etc/proxykit-vm/modules", 0o644, []byte(strings.Join(have, "\n")+"\n"))
}

// addInit writes /init and the list of modules it loads.
func (b *builder) addInit() error {
	b.files["init"] = true
	return b.a.AddFile("init", fs.FileMode(0o755), []byte(initScript))
}
