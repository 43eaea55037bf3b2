package nginxconf

import (
	"bufio"
	"io"
)

// DumpT writes what "nginx -T" writes to stdout after a successful test:
// every file read, once, in the order read, each as
// "# configuration file PATH:\n", its bytes as read, and a newline.
func (c *Config) DumpT(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, f := range c.Files {
		bw.WriteString("# configuration file ")
		bw.WriteString(f.Path)
		bw.WriteString(":\n")
		bw.Write(f.Data)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
