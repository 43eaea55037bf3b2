package nginxconf

import "strconv"

func (e *Error) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return e.Msg + " in " + e.File + ":" + strconv.Itoa(e.Line)
}
