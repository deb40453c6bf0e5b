package ipvs

import "testing"

func TestSampleValidates(t *testing.T) {
	if err := sampleState().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSaveGolden(t *testing.T) {
	st := sampleState()
	golden(t, "sample.ipvsadm", st.SaveIPVS())
	golden(t, "sample.ipset", st.SaveIPSets())
}

func TestSaveParseRoundTrip(t *testing.T) {
	st := sampleState()
	got, err := ParseIPVSADM(st.SaveIPVS())
	if err != nil {
		t.Fatal(err)
	}
	want := &State{Services: st.Services}
	if !got.Equal(want) {
		t.Fatalf("round trip differs:\n%s\nwant\n%s", got.SaveIPVS(), st.SaveIPVS())
	}
}

func TestSetEntryRoundTrip(t *testing.T) {
	for _, set := range sampleState().SortedSets() {
		for e := range set.All() {
			back, err := ParseSetEntry(set.Type, e.String())
			if err != nil || back != e {
				t.Errorf("%s %s: parsed back %v, %v", set.Type, e, back, err)
			}
		}
	}
}
