package vmtest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestModuleClosure(t *testing.T) {
	dep := `kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/nf_conntrack.ko: kernel/lib/libcrc32c.ko
kernel/lib/libcrc32c.ko:
kernel/crypto/crc32c_generic.ko:
kernel/arch/x86/crypto/crc32c-intel.ko:
kernel/drivers/net/dummy.ko:
kernel/drivers/net/bonding/bonding.ko:
kernel/fs/ext4/ext4.ko: kernel/lib/libcrc32c.ko
`
	deps, err := parseModulesDep(strings.NewReader(dep))
	if err != nil {
		t.Fatal(err)
	}
	aliases, _ := parseAliasLike(strings.NewReader("alias crc32c crc32c_generic\nalias crc32c crc32c_intel\nalias pci:v* bonding\n"), "alias")
	soft, _ := parseAliasLike(strings.NewReader("# comment\nsoftdep libcrc32c pre: crc32c post: nothere\n"), "softdep")
	ix := &modIndex{deps: deps, aliases: aliases, softdeps: soft}
	got := ix.closure([]string{"kernel/net/netfilter/"}, []string{"kernel/drivers/net/dummy.ko", "kernel/drivers/net/absent.ko"})
	want := []string{
		"kernel/arch/x86/crypto/crc32c-intel.ko", "kernel/crypto/crc32c_generic.ko", "kernel/drivers/net/dummy.ko",
		"kernel/lib/libcrc32c.ko", "kernel/net/netfilter/ipvs/ip_vs.ko", "kernel/net/netfilter/nf_conntrack.ko",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("closure:\n%v\nwant:\n%v", got, want)
	}
	if _, ok := aliases["pci:v*"]; ok {
		t.Error("wildcard alias kept")
	}
	have, missing := ix.present([]string{"ip_vs", "crc32c-intel", "ip_vs_twos"})
	if !reflect.DeepEqual(have, []string{"ip_vs", "crc32c-intel"}) || !reflect.DeepEqual(missing, []string{"ip_vs_twos"}) {
		t.Fatalf("present = %v, missing = %v", have, missing)
	}
	if _, err := parseModulesDep(strings.NewReader("no colon here\n")); err == nil {
		t.Error("malformed modules.dep accepted")
	}
}

func TestStripKoExtAndModName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/a/nf-nat.ko": "nf_nat", "kernel/a/x.ko.xz": "x", "kernel/a/y.ko.zst": "y", "z": "z",
	} {
		if got := modName(in); got != want {
			t.Errorf("modName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseLdd(t *testing.T) {
	out := []byte("\tlinux-vdso.so.1 (0x00007ffd)\n" +
		"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n" +
		"\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n")
	got, err := parseLdd(out)
	want := []string{"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("parseLdd = %v, %v; want %v", got, err, want)
	}
	if _, err := parseLdd([]byte("\tlibfoo.so.1 => not found\n")); err == nil {
		t.Fatal("missing library not reported")
	}
}

func TestArchivePath(t *testing.T) {
	for in, want := range map[string]string{
		"/lib/x86_64-linux-gnu/libc.so.6": "usr/lib/x86_64-linux-gnu/libc.so.6",
		"/lib64/ld-linux-x86-64.so.2":     "usr/lib64/ld-linux-x86-64.so.2",
		"/sbin/ip":                        "usr/sbin/ip",
		"/usr/sbin/nft":                   "usr/sbin/nft",
		"/libexec/x":                      "libexec/x",
		"/etc/protocols":                  "etc/protocols",
	} {
		if got := archivePath(in); got != want {
			t.Errorf("archivePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDepends(t *testing.T) {
	out := []byte("linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n")
	if p, ok := parseDepends(out); !ok || p != "linux-image-6.1.0-56-amd64" {
		t.Fatalf("parseDepends = %q, %v", p, ok)
	}
	if _, ok := parseDepends([]byte("linux-image-amd64\n  Depends: initramfs-tools\n")); ok {
		t.Fatal("non-kernel dependency accepted")
	}
}

func TestRelayConsole(t *testing.T) {
	const nonce = "abc123"
	in := "[    1.0] kernel says hi\r\n" +
		"@@PROXYKIT-VM other BEGIN uptime=1@@\r\n" + // another run's marker: ignored
		"@@PROXYKIT-VM abc123 BEGIN uptime=2.5@@\r\n" +
		"=== RUN   TestX\r\n" +
		"@@PROXYKIT-VM other EXIT 0@@\r\n" + // payload output that looks like a marker
		"FAIL\r\n" +
		"no newline@@PROXYKIT-VM abc123 EXIT 3 uptime=4@@\r\n" +
		"[    5.0] reboot: Power down\r\n"
	var out, console bytes.Buffer
	exits := 0
	res := relayConsole(strings.NewReader(in), nonce, &out, &console, func() { exits++ })
	if !res.begun || !res.done || res.exitCode != 3 || exits != 1 {
		t.Fatalf("result %+v, onExit called %d times", res, exits)
	}
	wantOut := "=== RUN   TestX\n@@PROXYKIT-VM other EXIT 0@@\nFAIL\nno newline\n"
	if out.String() != wantOut {
		t.Fatalf("out = %q, want %q", out.String(), wantOut)
	}
	wantConsole := "[    1.0] kernel says hi\n@@PROXYKIT-VM other BEGIN uptime=1@@\n[    5.0] reboot: Power down\n"
	if console.String() != wantConsole {
		t.Fatalf("console = %q, want %q", console.String(), wantConsole)
	}
}

func TestRelayConsoleWithoutExit(t *testing.T) {
	var lines []string
	for i := 0; i < 100; i++ {
		lines = append(lines, "line")
	}
	res := relayConsole(strings.NewReader(strings.Join(lines, "\n")+"\nKernel panic"), "n", &bytes.Buffer{}, nil, nil)
	if res.done || res.begun || len(res.tail) != 40 || res.tail[39] != "Kernel panic" {
		t.Fatalf("result done=%v begun=%v tail=%d last=%q", res.done, res.begun, len(res.tail), res.tail[len(res.tail)-1])
	}
}

func TestFlagHelpers(t *testing.T) {
	args := []string{"-test.v=true", "-test.timeout=10m0s", "--test.run", "TestX", "-test.list=."}
	if v, ok := flagValue(args, "run"); !ok || v != "TestX" {
		t.Errorf("flagValue(run) = %q, %v", v, ok)
	}
	if !hasListFlag(args) || hasListFlag(args[:2]) {
		t.Error("hasListFlag wrong")
	}
	if d := vmTimeout(args, time.Minute); d != 11*time.Minute {
		t.Errorf("vmTimeout = %v, want 11m", d)
	}
	if d := vmTimeout(nil, 0); d != 30*time.Minute {
		t.Errorf("vmTimeout without flag = %v", d)
	}
	dir := t.TempDir()
	prepareTestFlagDirs([]string{"-test.testlogfile=" + filepath.Join(dir, "a/b/testlog.txt"),
		"-test.gocoverdir=" + filepath.Join(dir, "cover"), "-test.outputdir=" + filepath.Join(dir, "out"),
		"-test.cpuprofile=prof/cpu.out"})
	for _, d := range []string{"a/b", "cover", "out", "out/prof"} {
		if st, err := os.Stat(filepath.Join(dir, d)); err != nil || !st.IsDir() {
			t.Errorf("directory %s not created: %v", d, err)
		}
	}
}

func TestRunOptionsValidate(t *testing.T) {
	ok := RunOptions{Binary: "/bin/true", Args: []string{"-x", "a b", ""}, Env: []string{"A_1=x=y", "B="},
		Dir: "/tmp", Modules: []string{"ip_vs", "nf-nat"}, CopyDirs: []string{"/data"}}
	if err := ok.validate(); err != nil {
		t.Fatalf("valid options rejected: %v", err)
	}
	for name, mutate := range map[string]func(*RunOptions){
		"no binary":    func(o *RunOptions) { o.Binary = "" },
		"newline arg":  func(o *RunOptions) { o.Args = []string{"a\nb"} },
		"bad env key":  func(o *RunOptions) { o.Env = []string{"1A=x"} },
		"env no equal": func(o *RunOptions) { o.Env = []string{"A"} },
		"bad module":   func(o *RunOptions) { o.Modules = []string{"ip_vs; reboot"} },
		"relative dir": func(o *RunOptions) { o.Dir = "pkg" },
		"relative cp":  func(o *RunOptions) { o.CopyDirs = []string{"testdata"} },
	} {
		o := ok
		mutate(&o)
		if err := o.validate(); !errors.Is(err, ErrBadRunOptions) {
			t.Errorf("%s: validate = %v, want ErrBadRunOptions", name, err)
		}
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote(`it's $HOME`); got != `'it'\''s $HOME'` {
		t.Fatalf("shellQuote = %s", got)
	}
}

func TestErrors(t *testing.T) {
	var err error = &UnavailableError{What: "qemu missing", Err: os.ErrNotExist}
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("UnavailableError does not match: %v", err)
	}
	be := &BootError{Reason: "timeout", Console: []string{"Kernel panic"}, Qemu: "qemu: oops", Err: os.ErrDeadlineExceeded}
	if !errors.Is(be, os.ErrDeadlineExceeded) || !strings.Contains(be.Error(), "Kernel panic") || errors.Is(be, ErrUnavailable) {
		t.Fatalf("BootError: %v", be)
	}
}

func TestPruneCache(t *testing.T) {
	cache := t.TempDir()
	old := time.Now().Add(-30 * 24 * time.Hour)
	mk := func(name string, ready bool, mtime time.Time) string {
		d := filepath.Join(cache, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		stamp := d
		if ready {
			stamp = filepath.Join(d, readyFile)
			if err := os.WriteFile(stamp, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(stamp, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return d
	}
	keep := mk("linux-image-1-aaa", true, old)
	stale := mk("linux-image-1-bbb", true, old)
	fresh := mk("linux-image-1-ccc", true, time.Now())
	build := mk("build-123", false, old)
	other := mk("unrelated", false, old)
	pruneCache(cache, keep)
	for d, wantGone := range map[string]bool{keep: false, stale: true, fresh: false, build: true, other: false} {
		_, err := os.Stat(d)
		if gone := os.IsNotExist(err); gone != wantGone {
			t.Errorf("%s: gone=%v, want %v", filepath.Base(d), gone, wantGone)
		}
	}
}

func TestCachedResolution(t *testing.T) {
	cache, lists := t.TempDir(), t.TempDir()
	if _, ok := cachedResolution(cache, lists); ok {
		t.Fatal("resolution without a file")
	}
	rf := filepath.Join(cache, resolvedFile)
	if err := os.WriteFile(rf, []byte("linux-image-6.1.0-56-amd64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if err := os.Chtimes(lists, past, past); err != nil {
		t.Fatal(err)
	}
	if p, ok := cachedResolution(cache, lists); !ok || p != "linux-image-6.1.0-56-amd64" {
		t.Fatalf("fresh resolution = %q, %v", p, ok)
	}
	if err := os.Chtimes(lists, future, future); err != nil { // apt-get update ran since
		t.Fatal(err)
	}
	if _, ok := cachedResolution(cache, lists); ok {
		t.Fatal("resolution older than apt's lists used")
	}
	if err := errors.Join(os.WriteFile(rf, []byte("rm -rf /\n"), 0o644), os.Chtimes(lists, past, past)); err != nil {
		t.Fatal(err)
	}
	if _, ok := cachedResolution(cache, lists); ok {
		t.Fatal("garbage package name accepted")
	}
}
