package vmtest_test

import (
	"bytes"
	"fmt"

	"github.com/proxykit/proxykit/internal/vmtest"
)

// An initramfs is a cpio archive; the harness appends one like this (the
// payload) to the cached, padded base archive before each boot.
func ExampleArchive() {
	var buf bytes.Buffer
	a := vmtest.NewArchive(&buf)
	_ = a.AddFile("payload/args", 0o644, []byte("-test.v\n"))
	_ = a.AddSymlink("bin", "usr/bin")
	if err := a.Close(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("bytes:", buf.Len(), "aligned:", buf.Len()%4 == 0)

	// Padding the base so that the next archive starts on a 512-byte boundary:
	n, _ := vmtest.PadTo(&buf, int64(buf.Len()), 512)
	fmt.Println("padded by", n, "to", buf.Len())
	// Output:
	// bytes: 500 aligned: true
	// padded by 12 to 512
}
