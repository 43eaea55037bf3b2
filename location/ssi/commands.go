package ssi

// The commands, as ngx_http_ssi_commands lists them, and how a parsed
// command is checked and run (ngx_http_ssi_body_filter's NGX_OK branch).

type paramSpec struct {
	name      string
	mandatory bool
}

type command struct {
	name        string
	params      []paramSpec // a parameter's index is its place here
	conditional int         // the if level it needs (elif, else, endif)
	block       bool        // runs while a block is being defined (endblock)
	run         func(f *Filter, a *args) (ok bool, err error)
}

// args are a command's parameters by index; set tells given from absent.
type args struct {
	val [5][]byte
	set [5]bool
}

func (a *args) get(i int) ([]byte, bool) { return a.val[i], a.set[i] }

var commands = []command{
	{name: "include", params: []paramSpec{{"virtual", false}, {"file", false}, {"wait", false}, {"set", false}, {"stub", false}}, run: (*Filter).include},
	{name: "echo", params: []paramSpec{{"var", true}, {"default", false}, {"encoding", false}}, run: (*Filter).echo},
	{name: "config", params: []paramSpec{{"errmsg", false}, {"timefmt", false}}, run: (*Filter).config},
	{name: "set", params: []paramSpec{{"var", true}, {"value", true}}, run: (*Filter).set},
	{name: "if", params: []paramSpec{{"expr", true}}, run: (*Filter).ifCommand},
	{name: "elif", params: []paramSpec{{"expr", true}}, conditional: condIf, run: (*Filter).ifCommand},
	{name: "else", conditional: condIf, run: (*Filter).elseCommand},
	{name: "endif", conditional: condElse, run: (*Filter).endif},
	{name: "block", params: []paramSpec{{"name", true}}, run: (*Filter).blockCommand},
	{name: "endblock", block: true, run: (*Filter).endblock},
}

func findCommand(name []byte) *command {
	for i := range commands {
		if commands[i].name == string(name) {
			return &commands[i]
		}
	}
	return nil
}

// command is the parser's: a complete, well-formed command, run with
// the shared state locked.
func (f *Filter) command() error {
	f.lockShared()
	err := f.runCommand()
	if uerr := f.unlockShared(); err == nil {
		err = uerr
	}
	return err
}

func (f *Filter) runCommand() error {
	ps := &f.ps
	cmd := findCommand(ps.command)
	if cmd == nil {
		if f.output {
			f.logf("invalid SSI command: \"%s\"", ps.command)
			return f.fail()
		}
		return nil
	}
	if !f.output && !cmd.block {
		if f.inBlock {
			f.keepCommandText()
			return nil
		}
		if cmd.conditional == 0 {
			return nil
		}
	}
	if cmd.conditional != 0 && (f.conditional == 0 || f.conditional > cmd.conditional) {
		f.logf("invalid context of SSI command: \"%s\"", ps.command)
		return f.fail()
	}
	if ps.nparams > maxParams {
		f.logf("too many SSI command parameters: \"%s\"", ps.command)
		return f.fail()
	}
	a := &f.args
	*a = args{}
	for i := range ps.params {
		pm := &ps.params[i]
		idx := -1
		for j, spec := range cmd.params {
			if spec.name == string(pm.Key) {
				idx = j
				break
			}
		}
		if idx < 0 {
			f.logf("invalid parameter name: \"%s\" in \"%s\" SSI command", pm.Key, ps.command)
			return f.fail()
		}
		if a.set[idx] {
			f.logf("duplicate \"%s\" parameter in \"%s\" SSI command", pm.Key, ps.command)
			return f.fail()
		}
		a.val[idx], a.set[idx] = pm.Value, true
	}
	for j, spec := range cmd.params {
		if spec.mandatory && !a.set[j] {
			f.logf("mandatory \"%s\" parameter is absent in \"%s\" SSI command", spec.name, ps.command)
			return f.fail()
		}
	}
	ok, err := cmd.run(f, a)
	if err != nil {
		return err
	}
	if !ok {
		return f.fail()
	}
	return nil
}

// keepCommandText adds the command, written again from what was parsed,
// to the block being defined: the block's text runs when it is output.
func (f *Filter) keepCommandText() {
	if len(f.shared.blocks) == 0 {
		return
	}
	c := append([]byte("<!--#"), f.ps.command...)
	for _, pm := range f.ps.params {
		c = append(c, ' ')
		c = append(c, pm.Key...)
		c = append(c, '=', '"')
		c = append(c, pm.Value...)
		c = append(c, '"')
	}
	c = append(c, " -->"...)
	b := &f.shared.blocks[len(f.shared.blocks)-1]
	b.chunks = append(b.chunks, c)
}

func (f *Filter) config(a *args) (bool, error) {
	if v, ok := a.get(1); ok {
		f.timefmt = append(f.timefmt[:0], v...)
	}
	if v, ok := a.get(0); ok {
		f.errmsg = append(f.errmsg[:0], v...)
	}
	return true, nil
}

func (f *Filter) set(a *args) (bool, error) {
	name, value := a.val[0], a.val[1]
	v, ok := f.evaluate(f.scratch[:0], value, false)
	f.scratch = v
	if !ok {
		return false, nil
	}
	lowerInPlace(name)
	f.shared.set(name, v)
	return true, nil
}

func (f *Filter) elseCommand(a *args) (bool, error) {
	f.output = !f.outputChosen
	f.conditional = condElse
	return true, nil
}

func (f *Filter) endif(a *args) (bool, error) {
	f.output, f.outputChosen, f.conditional = true, false, 0
	return true, nil
}

func (f *Filter) blockCommand(a *args) (bool, error) {
	s := f.shared
	if len(s.blocks) < cap(s.blocks) {
		s.blocks = s.blocks[:len(s.blocks)+1]
	} else {
		s.blocks = append(s.blocks, block{})
	}
	b := &s.blocks[len(s.blocks)-1]
	b.name = append(b.name[:0], a.val[0]...)
	b.chunks = nil
	f.output, f.inBlock = false, true
	return true, nil
}

func (f *Filter) endblock(a *args) (bool, error) {
	f.output, f.inBlock = true, false
	return true, nil
}

func lowerInPlace(b []byte) {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c | 0x20
		}
	}
}
