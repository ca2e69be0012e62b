//go:build !linux

package cache

import "io/fs"

// idOf, where ctime and inode are not portably available, trusts size and
// mtime only.
func idOf(fi fs.FileInfo) fileID {
	return fileID{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
}
