from rollcall.cli import main

main()
