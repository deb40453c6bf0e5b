package iptables

// analyzeFast is the common case of Rule.analyze, written as one tight
// loop because Parse runs it on every rule of a dump: spec is canonical
// (single spaces, quotes only around whole arguments, no backslash inside
// quotes, no tab or NUL). It reports ok=false when spec is not of that
// form; the caller then takes the general path.
func (r *Rule) analyzeFast(spec string) (ok bool) {
	n := len(spec)
	if n == 0 {
		r.Spec, r.Comment, r.Target, r.Goto = "", "", "", false
		return true
	}
	if spec[0] == ' ' || spec[n-1] == ' ' {
		return false
	}
	var comment, target string
	var gotoTarget, pendingGoto bool
	var want byte
	for i := 0; i < n; {
		start, end, quoted := i, i, false
		if spec[i] == '"' {
			j := i + 1
			for ; j < n && spec[j] != '"'; j++ {
				if c := spec[j]; c == '\\' || c < ' ' {
					return false
				}
			}
			if j >= n {
				return false
			}
			end, quoted = j+1, true
		} else {
			j := i
			for ; j < n; j++ {
				c := spec[j]
				if c > '"' {
					continue
				}
				if c == ' ' {
					break
				}
				if c != '!' {
					return false // '"' or a control character
				}
			}
			end = j
		}
		if end < n {
			if spec[end] != ' ' || end+1 == n || spec[end+1] == ' ' {
				return false
			}
		}
		i = end + 1
		if want != 0 {
			v := spec[start:end]
			if quoted {
				v = v[1 : len(v)-1]
			}
			switch want {
			case 'c':
				if comment == "" {
					comment = v
				}
			case 't':
				target, gotoTarget = v, pendingGoto
			}
			want = 0
			continue
		}
		if quoted {
			continue
		}
		switch spec[start:end] {
		case "-j", "--jump":
			want, pendingGoto = 't', false
		case "-g", "--goto":
			want, pendingGoto = 't', true
		case "--comment":
			want = 'c'
		case "--log-prefix", "--nflog-prefix":
			want = 's'
		}
	}
	r.Spec, r.Comment, r.Target, r.Goto = spec, comment, target, gotoTarget
	return true
}
