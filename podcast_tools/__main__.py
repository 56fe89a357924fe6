from podcast_tools.cli import main

main()
