module example.com/covtarget

go 1.22
