package ipvs

import "slices"

// applyToState performs ops on s, as the kernel did: how the Backend keeps
// its copy of the kernel's state without reading it back. s shares nothing
// with the ops afterwards.
func applyToState(s *State, ops Ops) {
	for _, o := range ops {
		switch o.Kind {
		case OpCreateSet:
			s.AddSet(o.Set.Spec())
		case OpAddEntry, OpDelEntry:
			set := s.Sets[o.Set.Name]
			if set == nil {
				continue
			}
			if o.Kind == OpAddEntry {
				set.entries.insert(o.Entry)
			} else {
				set.entries.remove(o.Entry)
			}
		case OpDestroySet:
			delete(s.Sets, o.Set.Name)
		case OpAddAddress:
			s.AddAddress(o.Addr)
		case OpDelAddress:
			delete(s.Addresses, o.Addr)
		case OpAddService:
			s.AddService(o.VS.Settings())
		case OpUpdateService:
			n := o.VS.Settings()
			if old := s.Services[o.VS.VSKey]; old != nil {
				n.Reals = old.Reals
			}
			s.AddService(n)
		case OpDelService:
			delete(s.Services, o.VS.VSKey)
		default:
			applyRealToState(s, o)
		}
	}
}

func applyRealToState(s *State, o Op) {
	vs := s.Services[o.VS.VSKey]
	if vs == nil {
		return
	}
	i := findReal(vs.Reals, o.Real.Key())
	switch o.Kind {
	case OpAddReal:
		if i < 0 {
			vs.Reals = append(vs.Reals, o.Real)
		}
	case OpUpdateReal:
		if i >= 0 {
			r := o.Real
			r.ActiveConns, r.InactiveConns = vs.Reals[i].ActiveConns, vs.Reals[i].InactiveConns
			vs.Reals[i] = r
		}
	case OpDelReal:
		if i >= 0 {
			vs.Reals = slices.Delete(vs.Reals, i, i+1)
		}
	}
}
