package nginxconf

// This file reads nginx's ngx_command_t arrays out of a compiled nginx
// binary and its dynamic modules (x86-64 ELF), so that the directive table
// is generated from nginx itself rather than remembered. It runs as a test:
//
//	go test ./nginxconf -run TestGenerateTable -gen-table [-nginx-modules DIR]
//
// writes testdata/table/commands.txt (a readable dump, checked in) and
// table_data.go. TestTableMatchesDump checks the table against the dump on
// every run; TestTableMatchesInstalledNginx checks the dump against
// /usr/sbin/nginx when it is installed.

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var (
	genTable     = flag.Bool("gen-table", false, "regenerate table_data.go and testdata/table/commands.txt from the nginx binary")
	nginxBinary  = flag.String("nginx-binary", "/usr/sbin/nginx", "nginx binary to read commands from")
	nginxModules = flag.String("nginx-modules", "/usr/lib/nginx/modules", "directory of nginx's dynamic modules (*.so)")
)

// nginx module type magics (NGX_*_MODULE).
const (
	ngxCoreModule   = 0x45524F43
	ngxConfModule   = 0x464E4F43
	ngxEventModule  = 0x544E5645
	ngxHTTPModule   = 0x50545448
	ngxStreamModule = 0x4d525453
	ngxMailModule   = 0x4C49414D
)

// elfCommand is one ngx_command_t as read from a binary.
type elfCommand struct {
	Module     string // ngx_http_core_module
	ModuleType string // CORE, CONF, EVENT, HTTP, STREAM, MAIL
	Dynamic    bool   // from a .so module
	Name       string
	Type       uint64 // raw NGX_* bits
	Set        string // exported set handler name, "" when static
	Conf       uint64
	Offset     uint64
	Post       string // "enum a b", "bitmask a b", "bounds 1 2", "deprecated new", "custom", ""
}

type relocTarget struct {
	addr uint64
	sym  string // imported symbol (dynamic modules)
}

type elfImage struct {
	f      *elf.File
	relocs map[uint64]relocTarget
	byAddr map[uint64]string
	byName map[string]uint64
}

func openELF(path string) (*elfImage, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	im := &elfImage{f: f, relocs: map[uint64]relocTarget{}, byAddr: map[uint64]string{}, byName: map[string]uint64{}}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return nil, fmt.Errorf("%s: dynamic symbols: %w", path, err)
	}
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF && s.Value != 0 {
			im.byAddr[s.Value] = s.Name
			im.byName[s.Name] = s.Value
		}
	}
	for _, sec := range f.Sections {
		if sec.Type != elf.SHT_RELA {
			continue
		}
		data, err := sec.Data()
		if err != nil {
			return nil, err
		}
		for i := 0; i+24 <= len(data); i += 24 {
			off := binary.LittleEndian.Uint64(data[i:])
			info := binary.LittleEndian.Uint64(data[i+8:])
			addend := binary.LittleEndian.Uint64(data[i+16:])
			typ, sym := elf.R_X86_64(info&0xffffffff), info>>32
			switch typ {
			case elf.R_X86_64_RELATIVE:
				im.relocs[off] = relocTarget{addr: addend}
			case elf.R_X86_64_64, elf.R_X86_64_GLOB_DAT:
				if sym == 0 || int(sym) > len(syms) {
					continue
				}
				s := syms[sym-1]
				if s.Section == elf.SHN_UNDEF {
					im.relocs[off] = relocTarget{sym: s.Name}
				} else {
					im.relocs[off] = relocTarget{addr: s.Value + addend}
				}
			}
		}
	}
	return im, nil
}

func (im *elfImage) bytesAt(addr uint64, n int) []byte {
	for _, p := range im.f.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr+uint64(n) > p.Vaddr+p.Memsz {
			continue
		}
		b := make([]byte, n)
		if addr-p.Vaddr < p.Filesz {
			p.ReadAt(b, int64(addr-p.Vaddr))
		}
		return b
	}
	return nil
}

func (im *elfImage) u64(addr uint64) uint64 {
	b := im.bytesAt(addr, 8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// ptr returns the pointer stored at addr (resolved through relocations).
func (im *elfImage) ptr(addr uint64) relocTarget {
	if r, ok := im.relocs[addr]; ok {
		return r
	}
	return relocTarget{addr: im.u64(addr)}
}

func (im *elfImage) cstring(addr uint64) string {
	var sb strings.Builder
	for i := uint64(0); i < 256; i++ {
		b := im.bytesAt(addr+i, 1)
		if b == nil || b[0] == 0 {
			break
		}
		sb.WriteByte(b[0])
	}
	return sb.String()
}

func (im *elfImage) funcName(r relocTarget) string {
	if r.sym != "" {
		return r.sym
	}
	return im.byAddr[r.addr]
}

// ngxStrList reads a {ngx_str_t name; ngx_uint_t value} array (enum,
// bitmask) up to its empty terminator.
func (im *elfImage) ngxStrList(addr uint64) []string {
	var out []string
	for i := 0; i < 64; i++ {
		e := addr + uint64(i)*24
		n := im.u64(e)
		if n == 0 {
			break
		}
		out = append(out, im.cstring(im.ptr(e + 8).addr)[:n])
	}
	return out
}

func (im *elfImage) commands(dynamic bool) ([]elfCommand, error) {
	mods, ok1 := im.byName["ngx_modules"]
	names, ok2 := im.byName["ngx_module_names"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("no ngx_modules/ngx_module_names symbols")
	}
	var out []elfCommand
	for i := uint64(0); ; i++ {
		m := im.ptr(mods + 8*i).addr
		if m == 0 {
			break
		}
		modName := im.cstring(im.ptr(names + 8*i).addr)
		var mtype string
		switch im.u64(m + 72) {
		case ngxCoreModule:
			mtype = "CORE"
		case ngxConfModule:
			mtype = "CONF"
		case ngxEventModule:
			mtype = "EVENT"
		case ngxHTTPModule:
			mtype = "HTTP"
		case ngxStreamModule:
			mtype = "STREAM"
		case ngxMailModule:
			mtype = "MAIL"
		default:
			return nil, fmt.Errorf("module %s: unknown type %#x", modName, im.u64(m+72))
		}
		cmds := im.ptr(m + 64).addr
		if cmds == 0 {
			continue
		}
		for c := cmds; ; c += 56 {
			n := im.u64(c)
			if n == 0 {
				break
			}
			ec := elfCommand{
				Module: modName, ModuleType: mtype, Dynamic: dynamic,
				Name:   im.cstring(im.ptr(c + 8).addr)[:n],
				Type:   im.u64(c + 16),
				Set:    im.funcName(im.ptr(c + 24)),
				Conf:   im.u64(c + 32),
				Offset: im.u64(c + 40),
			}
			if p := im.ptr(c + 48); p.addr != 0 || p.sym != "" {
				ec.Post = im.post(ec.Set, p)
			}
			out = append(out, ec)
		}
	}
	return out, nil
}

func (im *elfImage) post(set string, p relocTarget) string {
	switch set {
	case "ngx_conf_set_enum_slot":
		return "enum " + strings.Join(im.ngxStrList(p.addr), " ")
	case "ngx_conf_set_bitmask_slot":
		return "bitmask " + strings.Join(im.ngxStrList(p.addr), " ")
	}
	switch im.funcName(im.ptr(p.addr)) {
	case "ngx_conf_check_num_bounds":
		return fmt.Sprintf("bounds %d %d", int64(im.u64(p.addr+8)), int64(im.u64(p.addr+16)))
	case "ngx_conf_deprecated":
		return "deprecated " + im.cstring(im.ptr(p.addr+16).addr)
	}
	return "custom"
}

// readNginxCommands reads the binary and every *.so in modDir.
func readNginxCommands(binary, modDir string) ([]elfCommand, error) {
	im, err := openELF(binary)
	if err != nil {
		return nil, err
	}
	cmds, err := im.commands(false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", binary, err)
	}
	sos, _ := filepath.Glob(filepath.Join(modDir, "*.so"))
	sort.Strings(sos)
	for _, so := range sos {
		im, err := openELF(so)
		if err != nil {
			return nil, err
		}
		c, err := im.commands(true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", so, err)
		}
		cmds = append(cmds, c...)
	}
	return cmds, nil
}

// dumpLine is the checked-in text form of one command.
func (c elfCommand) dumpLine() string {
	dyn := "static"
	if c.Dynamic {
		dyn = "dynamic"
	}
	set := c.Set
	if set == "" {
		set = "-"
	}
	post := c.Post
	if post == "" {
		post = "-"
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%#08x\t%s\t%d\t%d\t%s", c.Module, c.ModuleType, dyn, c.Name, c.Type, set, c.Conf, c.Offset, post)
}

const dumpPath = "testdata/table/commands.txt"

func parseDump(t *testing.T) []elfCommand {
	t.Helper()
	data, err := os.ReadFile(dumpPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []elfCommand
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.SplitN(line, "\t", 9)
		if len(f) != 9 {
			t.Fatalf("bad dump line %q", line)
		}
		var c elfCommand
		c.Module, c.ModuleType, c.Dynamic, c.Name = f[0], f[1], f[2] == "dynamic", f[3]
		fmt.Sscanf(f[4], "%v", &c.Type)
		fmt.Sscanf(f[6], "%d", &c.Conf)
		fmt.Sscanf(f[7], "%d", &c.Offset)
		if f[5] != "-" {
			c.Set = f[5]
		}
		if f[8] != "-" {
			c.Post = f[8]
		}
		out = append(out, c)
	}
	return out
}

func TestGenerateTable(t *testing.T) {
	if !*genTable {
		t.Skip("run with -gen-table to regenerate the table from nginx")
	}
	cmds, err := readNginxCommands(*nginxBinary, *nginxModules)
	if err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	dump.WriteString("# ngx_command_t entries read from nginx's binary and dynamic modules by table_elf_test.go.\n")
	dump.WriteString("# module\ttype\tlinkage\tname\ttype-bits\tset\tconf\toffset\tpost\n")
	for _, c := range cmds {
		dump.WriteString(c.dumpLine() + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(dumpPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dumpPath, dump.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("table_data.go", genTableSource(cmds), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d commands", len(cmds))
}

// TestTableMatchesInstalledNginx checks the checked-in dump against the
// installed nginx: every command the binary (and any installed dynamic
// module) has must be in the dump with the same bits.
func TestTableMatchesInstalledNginx(t *testing.T) {
	if _, err := os.Stat(*nginxBinary); err != nil {
		t.Skipf("no nginx binary at %s", *nginxBinary)
	}
	got, err := readNginxCommands(*nginxBinary, *nginxModules)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, c := range parseDump(t) {
		want[c.dumpLine()] = true
	}
	for _, c := range got {
		if !want[c.dumpLine()] {
			t.Errorf("installed nginx has %q, not in %s", c.dumpLine(), dumpPath)
		}
	}
}

// TestTableMatchesDump checks table_data.go against the dump.
func TestTableMatchesDump(t *testing.T) {
	dump := parseDump(t)
	want := string(genTableSource(dump))
	got, err := os.ReadFile("table_data.go")
	if err != nil {
		t.Fatal(err)
	}
	if want != string(got) {
		t.Errorf("table_data.go is stale; regenerate with: go test ./nginxconf -run TestGenerateTable -gen-table")
	}
	if len(commandTable) != len(dump) {
		t.Errorf("table has %d commands, dump %d", len(commandTable), len(dump))
	}
}

// genTableSource renders table_data.go from commands, in nginx's module order.
func genTableSource(cmds []elfCommand) []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by table_elf_test.go (go test -run TestGenerateTable -gen-table); DO NOT EDIT.\n\n")
	b.WriteString("package nginxconf\n\n")
	b.WriteString("// commandTable is nginx 1.22.1's ngx_command_t arrays, read from a stock\n")
	b.WriteString("// Debian build and its dynamic modules, in module order.\n")
	b.WriteString("var commandTable = []Command{\n")
	fields := map[string]int{}
	for _, c := range cmds {
		var ctx []string
		for _, n := range ctxNames(c.ModuleType, c.Type) {
			ctx = append(ctx, n)
		}
		slot := slotFromSet(c.Set)
		fmt.Fprintf(&b, "\t{Name: %q, Module: %q, Ctx: %s, Args: %s", c.Name, c.Module, strings.Join(ctx, " | "), argsExpr(c.Type))
		if c.Type&0x100 != 0 {
			b.WriteString(", Block: true")
		}
		fmt.Fprintf(&b, ", Slot: %s", slotNames[slot])
		if c.Set != "" && slot == SlotCustom {
			fmt.Fprintf(&b, ", Set: %q", c.Set)
		}
		if slot.checksDuplicate() {
			key := fmt.Sprintf("%s/%d/%d", c.Module, c.Conf, c.Offset)
			if fields[key] == 0 {
				fields[key] = len(fields) + 1
			}
			fmt.Fprintf(&b, ", Field: %d", fields[key])
		}
		kind, rest, _ := strings.Cut(c.Post, " ")
		switch kind {
		case "enum", "bitmask":
			fmt.Fprintf(&b, ", Values: %#v", strings.Fields(rest))
		case "bounds":
			var lo, hi int64
			fmt.Sscanf(rest, "%d %d", &lo, &hi)
			fmt.Fprintf(&b, ", Bounds: &[2]int64{%d, %d}", lo, hi)
		case "deprecated":
			fmt.Fprintf(&b, ", Deprecated: %q", rest)
		case "custom":
			b.WriteString(", PostCheck: true")
		}
		if c.Dynamic {
			b.WriteString(", Dynamic: true")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		panic(fmt.Sprintf("generated table does not format: %v", err))
	}
	return src
}

func ctxNames(mtype string, bits uint64) []string {
	var names []string
	add := func(bit uint64, name string) {
		if bits&bit != 0 {
			names = append(names, name)
		}
	}
	switch mtype {
	case "CONF":
		return []string{"AnyConf"}
	case "CORE":
		add(0x01000000, "MainConf")
	case "EVENT":
		add(0x02000000, "EventConf")
	case "HTTP":
		add(0x02000000, "HTTPMainConf")
		add(0x04000000, "HTTPSrvConf")
		add(0x08000000, "HTTPLocConf")
		add(0x10000000, "HTTPUpsConf")
		add(0x20000000, "HTTPSifConf")
		add(0x40000000, "HTTPLifConf")
		add(0x80000000, "HTTPLmtConf")
	case "STREAM":
		add(0x02000000, "StreamMainConf")
		add(0x04000000, "StreamSrvConf")
		add(0x08000000, "StreamUpsConf")
	case "MAIL":
		add(0x02000000, "MailMainConf")
		add(0x04000000, "MailSrvConf")
	}
	if len(names) == 0 {
		panic(fmt.Sprintf("no context in %s %#x", mtype, bits))
	}
	return names
}

func argsExpr(bits uint64) string {
	names := []struct {
		bit  uint64
		name string
	}{{0x1, "NoArgs"}, {0x2, "Take1"}, {0x4, "Take2"}, {0x8, "Take3"}, {0x10, "Take4"}, {0x20, "Take5"}, {0x40, "Take6"}, {0x80, "Take7"}, {0x200, "Flag"}, {0x400, "AnyArgs"}, {0x800, "OneOrMore"}, {0x1000, "TwoOrMore"}}
	var out []string
	for _, n := range names {
		if bits&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	if len(out) == 0 {
		return "0"
	}
	return strings.Join(out, " | ")
}

func slotFromSet(set string) Slot {
	for s, fn := range slotHandlers {
		if fn == set {
			return s
		}
	}
	return SlotCustom
}
