package ipvs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const corpusDir = "../../shared/corpus/ipvsadm"

// countLines counts the service and real-server lines of an ipvsadm output
// by their first field, independently of the parser.
func countLines(text string) (services, reals int) {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 0:
		case f[0] == "-A" || f[0] == "TCP" || f[0] == "UDP" || f[0] == "SCTP" || f[0] == "FWM":
			services++
		case f[0] == "-a" || (f[0] == "->" && len(f) > 1 && f[1] != "RemoteAddress:Port"):
			reals++
		}
	}
	return services, reals
}

// TestParseCorpus reads real ipvsadm outputs collected from public sources.
func TestParseCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if len(files) == 0 {
		t.Skipf("no corpus at %s", corpusDir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			st, err := ParseIPVSADM(string(b))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			wantSvcs, wantReals := countLines(string(b))
			reals := 0
			for _, v := range st.Services {
				reals += len(v.Reals)
			}
			if len(st.Services) != wantSvcs || reals != wantReals {
				t.Fatalf("got %d services, %d reals; the text has %d and %d", len(st.Services), reals, wantSvcs, wantReals)
			}
			// What was read prints as rules that read back the same.
			back, err := ParseIPVSADM(st.SaveIPVS())
			if err != nil || !back.Equal(st) {
				t.Fatalf("save/parse round trip: %v\n%s", err, st.SaveIPVS())
			}
		})
	}
}

func TestParseListing(t *testing.T) {
	text := `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.96.0.1:https sh (sh-fallback,sh-port) persistent 60 mask 255.255.255.0
  -> 10.244.1.2:6443              Masq    3      7          2
UDP  [fd00::a]:53 rr ops
  -> [fd00::b]:53                 Route   0      0          9
FWM  5 IPv6 wrr
  -> [fd00::c]:0                  Tunnel  1      0          0
`
	st, err := ParseIPVSADM(text)
	if err != nil {
		t.Fatal(err)
	}
	v := st.Services[tcp("10.96.0.1", 443)]
	if v == nil || v.Scheduler != "sh" || v.Flags != Sched1|Sched2 || v.Timeout != 60 || v.PersistBits != 24 {
		t.Fatalf("service: %+v", v)
	}
	if r := v.Reals[0]; r.Weight != 3 || r.ActiveConns != 7 || r.InactiveConns != 2 || r.Forward != Masq {
		t.Fatalf("real: %+v", r)
	}
	u := st.Services[VSKey{Protocol: UDP, Addr: ip("fd00::a"), Port: 53}]
	if u == nil || u.Flags != OnePacket || u.Reals[0].Forward != Direct || u.Reals[0].InactiveConns != 9 {
		t.Fatalf("udp service: %+v", u)
	}
	if f := st.Services[FWMarkKey(5, true)]; f == nil || f.Reals[0].Forward != Tunnel {
		t.Fatalf("fwmark service: %+v", f)
	}
}

func TestParseErrors(t *testing.T) {
	text := "TCP  kubernetes.default:https rr\n  -> 10.0.0.1:80 Masq 1 0 0\nTCP  10.0.0.2:80 rr\n  -> 10.0.0.3:80 Masq 1 0 0\n  -> 10.0.0\n"
	st, err := ParseIPVSADM(text)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 1 {
		t.Fatalf("err = %v, want a *ParseError for line 1", err)
	}
	if n := strings.Count(err.Error(), "ipvsadm line"); n != 3 {
		t.Fatalf("want 3 line errors (host name, its real server, cut line), got %d: %v", n, err)
	}
	if v := st.Services[tcp("10.0.0.2", 80)]; len(st.Services) != 1 || v == nil || len(v.Reals) != 1 {
		t.Fatalf("the readable service was not kept: %v", st.SaveIPVS())
	}
}

func TestParseRules(t *testing.T) {
	text := "-A -f 3 -6 -s rr\n-a -f 3 -6 -r [fd00::1] -g -w 2\n-A -u 10.0.0.1:53 -p\n-a -u 10.0.0.1:53 -r 10.0.0.2\n"
	st, err := ParseIPVSADM(text)
	if err != nil {
		t.Fatal(err)
	}
	if v := st.Services[FWMarkKey(3, true)]; v == nil || v.Reals[0].Forward != Direct || v.Reals[0].Weight != 2 {
		t.Fatalf("fwmark: %+v", v)
	}
	u := st.Services[VSKey{Protocol: UDP, Addr: ip("10.0.0.1"), Port: 53}]
	if u == nil || u.Scheduler != "wlc" || u.Timeout != 300 || u.Reals[0].Port != 53 || u.Reals[0].Weight != 1 {
		t.Fatalf("defaults: %+v", u)
	}
}

func FuzzParseIPVSADM(f *testing.F) {
	f.Add(sampleState().SaveIPVS())
	f.Add("Prot LocalAddress:Port Weight PersistConn ActiveConn InActConn\n  -> RemoteAddress:Port\nTCP 1.2.3.4:5 wlc persistent 60\n  -> 1.2.3.5:6 1 1 1 0\n")
	f.Add("FWM  3 IPv6 wrr\n  -> [::1]:0 Local 1 0 0\n-A -t 1.1.1.1:80 -s mh -b flag-1,mh-port -M 255.0.0.0 -p 5\n")
	f.Fuzz(func(t *testing.T, text string) {
		st, err := ParseIPVSADM(text)
		if st == nil {
			t.Fatal("nil state")
		}
		if err == nil && st.Validate() == nil {
			back, err := ParseIPVSADM(st.SaveIPVS())
			if err != nil || !back.Equal(st) {
				t.Fatalf("round trip of %q: %v", text, err)
			}
		}
	})
}
