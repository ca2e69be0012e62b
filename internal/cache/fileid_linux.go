package cache

import (
	"io/fs"
	"syscall"
)

func idOf(fi fs.FileInfo) fileID {
	id := fileID{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.Ctime = st.Ctim.Nano()
		id.Ino = st.Ino
		id.Dev = st.Dev
	}
	return id
}
