// Filled in by the functional work. 
export {};
