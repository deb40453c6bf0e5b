package vmtest

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// consoleResult is what the serial console told us.
type consoleResult struct {
	exitCode int
	begun    bool // the payload started
	done     bool // the payload's exit code was seen
	tail     []string
	begin    time.Time // when the BEGIN marker arrived
	uptime   string    // the guest's uptime at BEGIN, in seconds
}

const markerPrefix = "@@PROXYKIT-VM "

// relayConsole reads the VM's serial output. Lines between the BEGIN and EXIT
// markers of this nonce go to out (without the serial line's "\r"); all other
// lines go to console (may be nil), and the last ones are kept for errors.
// It returns when r ends.
// onExit, if not nil, is called once when the EXIT marker arrives.
func relayConsole(r io.Reader, nonce string, out, console io.Writer, onExit func()) consoleResult {
	var res consoleResult
	begin, exit := markerPrefix+nonce+" BEGIN", markerPrefix+nonce+" EXIT "
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			wasDone := res.done
			relayLine(strings.TrimRight(line, "\r\n"), begin, exit, out, console, &res)
			if res.done && !wasDone && onExit != nil {
				onExit()
			}
		}
		if err != nil {
			return res
		}
	}
}

func relayLine(line, begin, exit string, out, console io.Writer, res *consoleResult) {
	switch {
	case !res.begun && strings.HasPrefix(line, begin):
		res.begun, res.begin = true, time.Now()
		if _, up, ok := strings.Cut(line, "uptime="); ok {
			res.uptime = strings.TrimSuffix(up, "@@")
		}
		return
	case res.begun && !res.done:
		i := strings.Index(line, exit)
		if i < 0 {
			io.WriteString(out, line+"\n")
			return
		}
		if i > 0 {
			io.WriteString(out, line[:i]+"\n")
		}
		code := strings.Fields(strings.TrimSuffix(line[i+len(exit):], "@@"))
		if len(code) > 0 {
			if n, err := strconv.Atoi(code[0]); err == nil {
				res.exitCode, res.done = n, true
				return
			}
		}
	}
	if console != nil {
		io.WriteString(console, line+"\n")
	}
	res.tail = append(res.tail, line)
	if len(res.tail) > 40 {
		res.tail = res.tail[len(res.tail)-40:]
	}
}
